"""Trained assistants as playable ``_rollout.Assistant``s, for ``alignlab assist evaluate``.

``azero:RUN`` is an ``assist train`` run (or its ``model/`` folder or a checkpoint file in
it): at every step it searches from the current state with its own network, as in training,
but without Gumbel noise (``gumbel_scale = 0``: the action the search rates best). A run
trained with ``--goal-visible`` plays as the goal-visible upper bound (its network and
search read the goal). The loaders are offered through the ``alignlab.assistants`` entry
points in ``pyproject.toml``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax

from alignlab.assist import _env
from alignlab.assist._layout import EnvConfig
from alignlab.assist._model_files import PLAYS_AS, Model, load_params, read_model
from alignlab.assist._rollout import Assistant
from alignlab.core import AlignlabError


@functools.lru_cache(maxsize=16)
def _search_act(net: Any, search_cfg: Any) -> Any:
    """One ``act`` per (network, search) config, so checkpoints that share them share a
    compilation (``_rollout`` caches compiled episodes by ``act`` identity)."""
    from alignlab.assist._search import search

    def act(cfg: EnvConfig, params: Any, carry: Any, state: _env.State, key: jax.Array) -> Any:
        batch = jax.tree.map(lambda x: x[None], state)
        out = search(cfg, net, search_cfg, params, batch, key)
        return out.action[0].astype("int32"), carry

    return act


def check_grid(trained: EnvConfig, cfg: EnvConfig, where: str) -> None:
    """A trained network reads one grid and action space: refuse another."""
    if tuple(trained.size) != tuple(cfg.size) or trained.n_actions != cfg.n_actions:
        raise AlignlabError(
            f"trained on a {'x'.join(map(str, trained.size))} grid with {trained.n_actions} "
            f"actions; this evaluation plays {'x'.join(map(str, cfg.size))} with "
            f"{cfg.n_actions}",
            file=where,
            field="assistants",
        )


def trained_model(cfg: EnvConfig, checkpoint: str | None, trainer: str) -> Model:
    """The model of the ``assist <trainer>`` run that ``NAME:RUN`` in
    ``--assistants`` names (``NAME``: how that trainer's models play), for games of ``cfg``.

    Raises:
        AlignlabError: no run given, nothing trained there, a model of another trainer
            (naming it), or one trained on another grid.
    """
    name = PLAYS_AS[trainer]
    if not checkpoint:
        raise AlignlabError(
            f"{name} needs a trained run: --assistants {name}:RUNS/assist-{trainer}/NAME",
            field="assistants",
        )
    model = read_model(checkpoint, (trainer,))
    check_grid(model.env, cfg, checkpoint)
    return model


def load_azero(cfg: EnvConfig, checkpoint: str | None) -> Assistant:
    """``azero:RUN``: an AssistanceZero (or goal-visible) assistant from ``assist train``."""
    from alignlab.assist._train import assistant_setup

    model = trained_model(cfg, checkpoint, "train")
    setup = assistant_setup(model)
    search_cfg = dataclasses.replace(setup.search, gumbel_scale=0.0)
    name = "goal-visible" if setup.net.goal_visible else "azero"
    return Assistant(name, _search_act(setup.net, search_cfg), params=load_params(model))
