"""A trained assistant's files, shared by the trainers that write them (``assist train``,
``train-ppo``, ``train-sft``) and the loaders that play them (``azero:``, ``ppo:`` and
``sft:`` in ``alignlab assist evaluate``, ``--expert`` of ``train-sft``).

A run folder holds ``checkpoints/`` (the whole training state) and ``model/``: the trained
network as one ``core`` checkpoint whose metadata lays out the ``env`` and ``net`` configs
(``config_dict``) and names the ``trainer`` that wrote it (``save_model``). Models written
before the ``trainer`` key existed are told apart by their other keys (``trainer_of``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from alignlab.core import AlignlabError

if TYPE_CHECKING:
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._net import NetConfig

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoints"
TRAINERS = ("train", "train-ppo", "train-sft")
# how ``alignlab assist evaluate --assistants`` plays each trainer's model
PLAYS_AS = {"train": "azero", "train-ppo": "ppo", "train-sft": "sft"}


class Model(NamedTuple):
    """A trained model found on disk: its checkpoint ``file``, the checkpoint's ``meta``,
    the ``trainer`` that wrote it and the configs its network was built for."""

    file: Path
    meta: dict[str, Any]
    trainer: str
    env: EnvConfig
    net: NetConfig


def config_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as checkpoint metadata (tuples as lists, as JSON reads them)."""

    def fix(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return {k: fix(v) for k, v in dataclasses.asdict(config).items()}


def _tuples(v: Any) -> Any:
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def save_model(
    run_dir: Path, step: int, params: Any, meta: Mapping[str, Any], trainer: str, folder: str = ""
) -> None:
    """Write ``params`` as ``run_dir/model`` (or ``run_dir/folder``) with ``meta`` and the
    ``trainer`` that trained them."""
    from alignlab.core import save_checkpoint

    out = run_dir / (folder or MODEL_DIR)
    save_checkpoint(out, step, params, {**meta, "trainer": trainer}, keep=1)


def trainer_of(meta: Mapping[str, Any]) -> str:
    """The trainer that wrote a model: its ``trainer`` key, else (models written before the
    key) ``train-ppo`` for PPO's ``algorithm: "ppo"`` and ``train`` otherwise."""
    if "trainer" in meta:
        return str(meta["trainer"])
    return "train-ppo" if meta.get("algorithm") == "ppo" else "train"


def find_model(path: str | Path) -> Path:
    """The model checkpoint file that ``path`` names: a run folder (its ``model/``), a
    model folder (its newest checkpoint) or a checkpoint file.

    Raises:
        AlignlabError: nothing trained there.
    """
    from alignlab.core import latest_checkpoint

    p = Path(path)
    if p.is_dir() and (p / MODEL_DIR).is_dir():
        p = p / MODEL_DIR
    if p.is_dir():
        found = latest_checkpoint(p)
        if found is None:
            raise AlignlabError("no trained assistant here (no model checkpoint)", file=str(p))
        p = found
    if not p.is_file():
        raise AlignlabError("assistant model not found", file=str(p))
    return p


def read_model(path: str | Path, trainers: Collection[str] = TRAINERS) -> Model:
    """The model at ``path`` (``find_model``) with its configs rebuilt from the metadata,
    refused unless one of ``trainers`` wrote it.

    Raises:
        AlignlabError: nothing trained there, another trainer's model (the error names it
            and how it plays), or metadata that builds no configs.
    """
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._net import NetConfig
    from alignlab.core import read_checkpoint_meta

    file = find_model(path)
    meta = read_checkpoint_meta(file)
    trainer = trainer_of(meta)
    if trainer not in trainers:
        wanted = " or ".join(f"'assist {t}'" for t in trainers)
        plays = f"; it plays as {PLAYS_AS[trainer]}:RUN" if trainer in PLAYS_AS else ""
        raise AlignlabError(
            f"a model written by 'assist {trainer}', not {wanted}{plays}",
            file=str(file),
            field="meta.trainer",
        )
    try:
        env = EnvConfig(**{k: _tuples(v) for k, v in meta["env"].items()})
        net = NetConfig(**meta["net"])
    except (KeyError, TypeError) as exc:
        raise AlignlabError(
            f"not an assistant model ({exc})", file=str(file), field="meta"
        ) from None
    return Model(file, meta, trainer, env, net)


def load_params(model: Model) -> Any:
    """The network parameters of ``model``, checked against its configs' shapes."""
    import jax

    from alignlab.assist._net import init_params
    from alignlab.core import load_checkpoint

    like = init_params(model.net, model.env, jax.random.PRNGKey(0))
    return load_checkpoint(model.file, like=like).tree
