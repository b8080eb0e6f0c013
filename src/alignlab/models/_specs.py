"""Model specs: one short string names a backend (``"minilm"``, ``"hf:<id or path>"``, ...)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError
from alignlab.models._hf import HFCausalLM, load_hf
from alignlab.models._hf_vlm import HFVisionChat, load_hf_vlm
from alignlab.models._protocols import ChatBackend, TextEncoder


@dataclass(frozen=True)
class ModelSpec:
    """What a spec name loads: a one-line description, parameter count (``None`` when it
    depends on the model), and whether it is a causal LM (usable by ``load_causal_lm``)."""

    description: str
    n_params: int | None
    causal: bool


MODEL_SPECS: dict[str, ModelSpec] = {
    "wordllama": ModelSpec(
        "wordllama l2_supercat static embeddings, 256-d, bundled", 8_192_000, False
    ),
    "minilm": ModelSpec("all-MiniLM-L6-v2 sentence encoder, 384-d, bundled", 22_713_216, False),
    "smollm2": ModelSpec(
        "SmolLM2-135M-Instruct causal LM, 576-d, bundled (GGUF → fp32 cache)", 134_515_008, True
    ),
    "tiny-encoder": ModelSpec("random 2-layer BERT, 32-d, built in code (tests)", 49_984, False),
    "tiny-lm": ModelSpec("random 2-layer Llama, 32-d, built in code (tests)", 53_408, True),
    "hf:<id or path>": ModelSpec(
        "any transformers model: local folder, or hub id when online", None, False
    ),
    "tiny-vlm": ModelSpec(
        "random Qwen2.5-VL, 64-d, 2 layers + 2-block vision tower, built in code (tests; "
        "load_vision_chat)",
        223_456,
        False,
    ),
    "hf-vlm:<id or path>": ModelSpec(
        "any transformers image-text-to-text model as a chat backend (load_vision_chat)",
        None,
        False,
    ),
}


def _known() -> str:
    return ", ".join(MODEL_SPECS)


def load_encoder(spec: str, **kw: Any) -> TextEncoder:
    """A :class:`TextEncoder` for ``spec`` (see :data:`MODEL_SPECS`); ``kw`` go to the backend
    (``hf:`` specs take ``causal=True`` to load a causal LM as the encoder)."""
    from alignlab.models import _bundled, _tiny

    if spec.startswith("hf:"):
        causal = bool(kw.pop("causal", False))
        return load_hf(_hf_target(spec), causal=causal, **kw)
    loaders: dict[str, Callable[..., TextEncoder]] = {
        "wordllama": _bundled.wordllama_encoder,
        "minilm": _bundled.minilm,
        "smollm2": _bundled.smollm2,
        "tiny-encoder": _tiny.tiny_encoder,
        "tiny-lm": _tiny.tiny_lm,
    }
    if spec not in loaders:
        raise AlignlabError(f"unknown model spec '{spec}'; known: {_known()}", field="model")
    return loaders[spec](**kw)


def load_causal_lm(spec: str, **kw: Any) -> HFCausalLM:
    """An :class:`HFCausalLM` for ``spec`` (``"smollm2"``, ``"tiny-lm"`` or ``"hf:..."``)."""
    from alignlab.models import _bundled, _tiny

    if spec.startswith("hf:"):
        model = load_hf(_hf_target(spec), causal=True, **kw)
        assert isinstance(model, HFCausalLM)
        return model
    if spec == "smollm2":
        return _bundled.smollm2(**kw)
    if spec == "tiny-lm":
        return _tiny.tiny_lm(**kw)
    causal = [k for k, v in MODEL_SPECS.items() if v.causal or k.startswith("hf:")]
    what = "is an encoder, not a causal LM" if spec in MODEL_SPECS else "is unknown"
    raise AlignlabError(
        f"model spec '{spec}' {what}; causal LM specs: {', '.join(causal)}", field="model"
    )


def load_vision_chat(spec: str, **kw: Any) -> HFVisionChat:
    """An :class:`HFVisionChat` for ``spec``: ``"tiny-vlm"`` or ``"hf-vlm:<id or path>"``;
    ``kw`` go to the loader (``seed`` for ``tiny-vlm``; ``dtype``, ``device``, ``name``,
    ``stop`` for ``hf-vlm:``)."""
    from alignlab.models import _tiny_vlm

    if spec.startswith("hf-vlm:"):
        return load_hf_vlm(_hf_target(spec, "hf-vlm:"), **kw)
    if spec == "tiny-vlm":
        return _tiny_vlm.tiny_vlm(**kw)
    raise AlignlabError(
        f"model spec '{spec}' is not a vision-language chat model; use tiny-vlm or "
        "hf-vlm:<model id or local path>",
        field="model",
    )


def _hf_target(spec: str, prefix: str = "hf:") -> str:
    target = spec[len(prefix) :].strip()
    if not target:
        raise AlignlabError(
            f"empty model after '{prefix}'; use {prefix}<model id or local path>", field="model"
        )
    return target


CHAT_SPECS = (
    "tiny[:SEED]",
    "smollm2",
    "hf:<id or path>",
    "lora:<adapter folder>",
    "openai:<model>",
)
"""The forms :func:`load_chat` accepts."""


def load_chat(spec: str, *, base_url: str | None = None, batch_size: int = 16) -> ChatBackend:
    """A :class:`ChatBackend` for one spec string:

    - ``tiny[:SEED]``: a tiny random LM built in code (tests), as :class:`LocalChat`;
    - ``smollm2``: the bundled SmolLM2-135M-Instruct; ``hf:<id or path>``: any causal LM;
    - ``lora:<folder>``: a LoRA adapter folder written by :func:`lora_sft` (base + adapter,
      merged);
    - ``openai:<model>``: an :class:`OpenAIChat` at ``base_url`` or ``$OPENAI_BASE_URL`` (key
      from ``$OPENAI_API_KEY``); finetuned names such as ``openai:ft:gpt-4.1:org::id`` work.

    ``batch_size``: prompts per ``generate`` call of the local backends.

    Raises:
        AlignlabError: an unknown spec (listing the known forms), a bad seed, an ``openai:``
            spec with no base URL, or a model that fails to load (field ``model``).
    """
    from alignlab.models._local_chat import LocalChat

    kind, sep, rest = spec.partition(":")
    if kind == "openai" and rest.strip():
        from alignlab.models._openai import OpenAIChat

        url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise AlignlabError(
                f"model spec '{spec}' needs a server: pass --base-url or set $OPENAI_BASE_URL "
                "(e.g. https://api.openai.com/v1 or a vLLM server's http://HOST:8000/v1)",
                field="base_url",
            )
        return OpenAIChat(rest.strip(), base_url=url)
    if kind == "tiny" and (not sep or rest.strip().isdigit()):
        return LocalChat(load_causal_lm("tiny-lm", seed=int(rest or 0)), batch_size=batch_size,
                         name=spec)  # fmt: skip
    if spec == "smollm2" or (kind == "hf" and sep):
        return LocalChat(load_causal_lm(spec), batch_size=batch_size)
    if kind == "lora" and rest.strip():
        from alignlab.models._lora_sft import load_lora_lm

        return LocalChat(load_lora_lm(Path(rest.strip()).expanduser()), batch_size=batch_size,
                         name=spec)  # fmt: skip
    raise AlignlabError(
        f"unknown chat model spec '{spec}'; known forms: {', '.join(CHAT_SPECS)}", field="model"
    )
