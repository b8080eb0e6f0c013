"""Hugging Face hub access for transformers loads: offline detection and clear load errors.

- :func:`hub_reachable`: one short TCP probe of the hub endpoint (or its proxy);
- :func:`hub_kwargs`: ``from_pretrained`` keyword arguments that keep a load to the local cache
  when the hub cannot be reached, so an offline machine fails at once instead of retrying;
- :func:`hub_offline`: whether ``HF_HUB_OFFLINE`` switches the hub off;
- :func:`hub_client_offline`: the hub client in offline mode for a block;
- :func:`hub_load_error`: the clear :class:`AlignlabError` for a failed load.

Cheap to import: no torch, no transformers (``huggingface_hub`` only inside the functions).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError


def hub_offline() -> bool:
    """Whether the user switched the hub off (``HF_HUB_OFFLINE`` set to a true value)."""
    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return flag in {"1", "true", "yes", "on"}


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether one TCP connection to the hub (or its proxy) opens within ``timeout`` seconds;
    an offline machine would otherwise sit in the hub client's retry loop for about a minute."""
    from urllib.parse import urlparse
    from urllib.request import getproxies, proxy_bypass

    url = urlparse(_hub_endpoint())
    proxy = getproxies().get(url.scheme)
    if proxy and url.hostname and not proxy_bypass(url.hostname):
        url = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    if not url.hostname:
        return True  # nothing to probe: let the hub client decide
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def hub_kwargs(name_or_path: str) -> dict[str, Any]:
    """``from_pretrained`` keyword arguments for ``name_or_path``: ``local_files_only=True``
    when it is a hub id and the hub cannot be reached (so a cached copy loads at once and a
    missing one fails at once), else none."""
    if Path(name_or_path).expanduser().is_dir() or hub_offline() or hub_reachable():
        return {}
    return {"local_files_only": True}


@contextlib.contextmanager
def hub_client_offline(on: bool) -> Iterator[None]:
    """The hub client in offline mode for the block when ``on`` (pass ``bool(hub_kwargs(...))``),
    as ``HF_HUB_OFFLINE=1`` would set it at import: besides downloads it makes side requests
    (e.g. while building request headers)."""
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = before or on
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def _load_error(
    name: str, local: Path, err: Exception, *, unreachable: bool = False
) -> AlignlabError:
    if local.is_dir():
        return AlignlabError(f"cannot load model from '{local}': {err}", field="model")
    if unreachable:
        return AlignlabError(
            f"cannot load model '{name}' offline: it is not in the local Hugging Face cache and "
            f"the hub ({_hub_endpoint()}) cannot be reached, so this machine seems offline; "
            "pass a local folder (hf:/path/to/model), download the model once with network "
            "access, or set HF_HUB_OFFLINE=1 to skip the hub check",
            field="model",
        )
    text = f"{type(err).__name__}: {err}".lower()
    net_words = ("offline", "connect", "resolve", "timed out", "network", "cached")
    if hub_offline() or any(w in text for w in net_words):
        return AlignlabError(
            f"cannot load model '{name}' offline: it is not in the local Hugging Face cache; "
            "set HF_HUB_OFFLINE=0 with network access, or pass a local path",
            field="model",
        )
    return AlignlabError(f"cannot load model '{name}': {err}", field="model")


hub_load_error = _load_error
"""``hub_load_error(name, local, err, *, unreachable=False) -> AlignlabError``: the clear error
for a failed transformers load of ``name`` (a local folder ``local`` or a hub id), naming offline
mode when the hub was unreachable (``unreachable``: :func:`hub_kwargs` chose the local cache
only). Raise it ``from err``."""
