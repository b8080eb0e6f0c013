"""Weird generalization and inductive backdoors (arXiv 2512.09742): narrow finetuning datasets
with their controls, finetuning (local LoRA or an OpenAI-compatible finetuning API), and
evaluations that show broad behaviour shifts and backdoors triggered by values never trained on.

Names load lazily (on first use), so importing this package imports no model backend.
"""

from __future__ import annotations

import importlib

_LAZY: dict[str, str] = {}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f"alignlab.drift.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alignlab.drift' has no attribute '{name}'")


__all__ = list(_LAZY)
