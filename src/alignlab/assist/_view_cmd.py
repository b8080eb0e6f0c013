"""The ``alignlab assist view`` command: turn an episode JSON file into one self-contained HTML
page that replays it in a browser (no server, no network)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from alignlab.core import AlignlabError


@dataclass(frozen=True)
class ViewConfig:
    episode: str = field(
        default="", metadata={"help": "episode JSON file (alignlab.assist.episode/1)"}
    )
    out: str = field(
        default="",
        metadata={
            "help": "output HTML file, or a folder (an existing one, or a path ending in /) to "
            "write FOLDER/<episode name>.html in, as cp does; empty: beside the episode, .html"
        },
    )
    title: str = field(default="", metadata={"help": "page title; empty: the episode's file name"})

    def __post_init__(self) -> None:
        """Raises :class:`AlignlabError` (``field="episode"``) when no episode file is given."""
        if not self.episode:
            raise AlignlabError("an episode file is needed: --episode PATH", field="episode")


def page_path(cfg: ViewConfig) -> Path:
    """Where the page goes: ``--out`` as a file, ``--out``/<episode stem>.html when ``--out`` is
    a folder, or beside the episode.

    Raises:
        AlignlabError: (``field="out"``) the page would overwrite the episode, or a part of
            ``--out`` above the page is an existing file.
    """
    src = Path(cfg.episode)
    page_name = src.with_suffix(".html").name
    if not cfg.out:
        out = src.with_suffix(".html")
    elif cfg.out.endswith(("/", os.sep)) or Path(cfg.out).is_dir():
        out = Path(cfg.out) / page_name
    else:
        out = Path(cfg.out)
    for part in out.parents:
        if part.exists():
            if not part.is_dir():
                raise AlignlabError(
                    f"cannot write the page under the file {part}; choose another --out",
                    file=out,
                    field="out",
                )
            break
    if out.is_dir():  # FOLDER/<stem>.html is itself a folder
        raise AlignlabError(
            "the page path is a folder; choose another --out", file=out, field="out"
        )
    if out.resolve() == src.resolve():
        raise AlignlabError(
            "the output would overwrite the episode file; choose another --out", field="out"
        )
    return out


def run_view(cfg: ViewConfig) -> Path:
    """Validate the episode, write the viewer page atomically and return its path."""
    from alignlab.assist._viewer import load_episode, save_episode_html

    out = page_path(cfg)
    episode = load_episode(cfg.episode)
    return save_episode_html(out, episode, title=cfg.title or Path(cfg.episode).name)
