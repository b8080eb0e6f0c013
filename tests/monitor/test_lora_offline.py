"""A LoRA guard on an ``hf:`` hub id, on a machine that cannot reach the hub: the load keeps to
the local Hugging Face cache and fails at once with the offline hint, never touching the
network (the hub client would otherwise retry with backoff for about a minute)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from alignlab.core import AlignlabError
from alignlab.monitor import LoraGuard


def test_uncached_hub_base_offline_fails_at_once_without_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("peft")
    from huggingface_hub import constants

    # as on a machine where nobody set HF_HUB_OFFLINE (the test suite sets it)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # the hub probe answers "unreachable", as it would offline; patched where it is looked up
    monkeypatch.setattr("alignlab.models._hub.hub_reachable", lambda timeout=3.0: False)

    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:  # every connection the hub client would try
        attempts.append(args[:2])
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)

    guard = LoraGuard(base="hf:no-such-org/no-such-model")
    with pytest.raises(AlignlabError) as info:
        guard.fit(["a", "b"], [0, 1])
    msg = str(info.value)
    assert "cannot load model 'hf:no-such-org/no-such-model' offline" in msg
    assert "not in the local Hugging Face cache" in msg and "cannot be reached" in msg
    assert info.value.field == "model"
    assert attempts == []
