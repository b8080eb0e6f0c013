"""Files a drift command reads: a path, or ``builtin:NAME`` for the demonstration files the
package ships (``alignlab/drift/data/NAME.yaml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alignlab.core import AlignlabError

BUILTIN = "builtin:"


def builtin_names() -> list[str]:
    """Names ``builtin:NAME`` accepts."""
    folder = resources.files("alignlab.drift") / "data"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def data_path(spec: str, *, field: str) -> Path:
    """The file ``spec`` names (``builtin:NAME`` or a path).

    Raises:
        AlignlabError: an unknown builtin or a missing file (``field`` names the setting).
    """
    if spec.startswith(BUILTIN):
        name = spec[len(BUILTIN) :]
        path = Path(str(resources.files("alignlab.drift") / "data" / f"{name}.yaml"))
        if not path.is_file():
            raise AlignlabError(
                f"no builtin '{name}'; builtins: {', '.join(builtin_names())}", field=field
            )
        return path
    path = Path(spec).expanduser()
    if not path.is_file():
        raise AlignlabError("file not found", file=path, field=field)
    return path
