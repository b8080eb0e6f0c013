"""The ``alignlab assist view`` command: turn an episode JSON file into one self-contained HTML
page that replays it in a browser (no server, no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alignlab.core import AlignlabError


@dataclass(frozen=True)
class ViewConfig:
    episode: str = field(
        default="", metadata={"help": "episode JSON file (alignlab.assist.episode/1)"}
    )
    out: str = field(
        default="", metadata={"help": "output HTML file; empty: beside the episode, .html"}
    )
    title: str = field(default="", metadata={"help": "page title; empty: the episode's file name"})


def run_view(cfg: ViewConfig) -> Path:
    """Validate the episode, write the viewer page atomically and return its path."""
    from alignlab.assist._viewer import load_episode, save_episode_html

    if not cfg.episode:
        raise AlignlabError("an episode file is needed: --episode PATH", field="episode")
    src = Path(cfg.episode)
    out = Path(cfg.out) if cfg.out else src.with_suffix(".html")
    if out.resolve() == src.resolve():
        raise AlignlabError(
            "the output would overwrite the episode file; choose another --out", field="out"
        )
    episode = load_episode(src)
    return save_episode_html(out, episode, title=cfg.title or src.name)
