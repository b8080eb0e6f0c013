"""The simulated human as one pluggable piece: the goal-aware heuristic (``_humans``) or a
behaviour-cloned policy (``_bc``, a file written by ``alignlab assist train-human``), played
wherever the human plays — self-play, the baselines' training and evaluation, so that every
assistant meets the same env and the same simulated human (AssistanceZero, arXiv 2504.07091).

A :class:`HumanModel` is ``(name, logits, params, masked)``. ``logits(params, key, obs, cfg,
inventory) -> [A]`` is a pure, jittable function of ONE game (no batch axis): the human's own
observation ``obs [6, X, Y, Z] float32`` (goal channels filled) and its ``observe_inventory``
``[2, 10]``, with ``cfg`` static. ``params`` (``HeuristicParams`` or the BC network's weights)
is passed to compiled code as an argument, never baked in as constants; ``logits`` is one
module-level function per kind, so compilations are cached per ``(cfg, kind)`` and two BC
files of one shape share one. ``HumanKind`` is the static, hashable part (``logits``,
``masked``) that keys those caches::

    human = load_human("bc:runs/assist-train-human/NAME/bc_human.npz", cfg)
    logits = state_logits(human.kind, cfg, human.params, key, state)  # [A]

``masked``: the model may put mass on actions the game refuses. The BC network does, so
:func:`state_logits` restricts it to ``legal_action_mask(cfg, state, HUMAN)`` and renormalises.
The heuristic is played as it always was: under ``los="mbag"`` its own reach rule proposes only
legal actions, and under ``"off"`` / ``"centre"`` its refused proposals stay part of the model,
so earlier results reproduce exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from alignlab.assist._humans import NEG, HeuristicParams, heuristic_logits
from alignlab.assist._layout import HUMAN, EnvConfig
from alignlab.core import AlignlabError, bad_flag

HEURISTIC = "heuristic"
BC_PREFIX = "bc:"
FIELD = "human"  # the config field (``--human``) every error names
_DEFAULT = HeuristicParams()

HumanLogits = Callable[[Any, Any, Any, EnvConfig, Any], Any]


class HumanKind(NamedTuple):
    """The static part of a human model: its logits function and whether consumers mask it
    to legal actions. Hashable (functions compare by identity): the key of compiled code."""

    logits: HumanLogits
    masked: bool


class HumanModel(NamedTuple):
    """A simulated human (module doc): ``name`` as the ``--human`` spec names it
    (``heuristic`` or ``bc:PATH``), its ``logits`` function, ``params`` pytree and ``masked``."""

    name: str
    logits: HumanLogits
    params: Any
    masked: bool = False

    @property
    def kind(self) -> HumanKind:
        return HumanKind(self.logits, self.masked)


def bc_human_logits(
    params: dict[str, Any], key: Any, obs: Any, cfg: EnvConfig, inventory: Any = None
) -> Any:
    """Unmasked logits ``[A] float32`` of the behaviour-cloned human for one observation
    ``[6, X, Y, Z]`` (``_bc.bc_logits`` on a batch of one); ``key`` and ``inventory`` unused
    (the clone is deterministic given ``obs`` and models infinite inventories)."""
    from alignlab.assist._bc import bc_logits

    del key, inventory
    return bc_logits(params, obs[None], cfg)[0]


HEURISTIC_KIND = HumanKind(heuristic_logits, False)
BC_KIND = HumanKind(bc_human_logits, True)


def heuristic_human(beta: float = _DEFAULT.beta, mistake_rate: float = 0.0) -> HumanModel:
    """The heuristic human with rationality ``beta`` and ``mistake_rate`` (``_humans``)."""
    return HumanModel(HEURISTIC, heuristic_logits, HeuristicParams(beta, mistake_rate), False)


def state_logits(kind: HumanKind, cfg: EnvConfig, params: Any, key: Any, state: Any) -> Any:
    """The human's action log-probabilities ``[A] float32`` in one game ``state``: the
    model's logits on its own observation and inventory, restricted to its legal actions
    (``NEG`` elsewhere) and renormalised when ``kind.masked``. Jittable; vmap over ``state``."""
    import jax
    import jax.numpy as jnp

    from alignlab.assist import _env

    obs, inv = _env.observe(cfg, state, HUMAN), _env.observe_inventory(cfg, state, HUMAN)
    logits = kind.logits(params, key, obs, cfg, inv)
    if kind.masked:
        legal = _env.legal_action_mask(cfg, state, HUMAN)
        logits = jax.nn.log_softmax(jnp.where(legal, logits, NEG))
    return logits


def check_human_flag(
    spec: str, beta: float = _DEFAULT.beta, mistake_rate: float = _DEFAULT.mistake_rate
) -> None:
    """The cheap checks of a ``--human`` value, for a config's ``__post_init__``: ``heuristic``
    or ``bc:PATH`` with an existing file, and ``--beta`` / ``--mistake-rate`` left at their
    defaults for the BC human (it has neither). The grid is checked by :func:`load_human`.

    Raises:
        AlignlabError: ``field="human"`` (or ``"beta"`` / ``"mistake_rate"``).
    """
    if spec == HEURISTIC:
        return
    if not spec.startswith(BC_PREFIX) or not spec[len(BC_PREFIX) :]:
        bad_flag(
            FIELD,
            f"unknown human '{spec}'; use heuristic or bc:PATH (a model file written by "
            "'alignlab assist train-human')",
        )
    path = spec[len(BC_PREFIX) :]
    if not Path(path).is_file():
        raise AlignlabError("BC human model file not found", file=path, field=FIELD)
    for name, value, default in (
        ("beta", beta, _DEFAULT.beta),
        ("mistake_rate", mistake_rate, _DEFAULT.mistake_rate),
    ):
        if value != default:
            flag_name = "--" + name.replace("_", "-")
            bad_flag(
                name,
                f"{flag_name} sets the heuristic human; the behaviour-cloned human "
                f"({spec}) has none (leave it at {default})",
            )


def load_human(
    spec: str,
    cfg: EnvConfig,
    beta: float = _DEFAULT.beta,
    mistake_rate: float = _DEFAULT.mistake_rate,
) -> HumanModel:
    """The human a ``--human`` spec names, for games of ``cfg``: ``heuristic`` (with ``beta``
    and ``mistake_rate``) or ``bc:PATH`` (a model from ``alignlab assist train-human``).

    Raises:
        AlignlabError: (``field="human"``, and the file for a BC model) an unknown spec, a
            missing or unreadable file, a model cloned on another grid (so another action
            space), or a game with finite inventories (the clone has no GIVE actions).
    """
    check_human_flag(spec, beta, mistake_rate)
    if spec == HEURISTIC:
        return heuristic_human(beta, mistake_rate)
    from alignlab.assist._bc import load_bc

    path = spec[len(BC_PREFIX) :]
    try:
        params, trained = load_bc(path)
    except AlignlabError as err:
        raise AlignlabError(err.message, file=err.file or path, field=FIELD) from None
    if tuple(trained.size) != tuple(cfg.size):
        raise AlignlabError(
            f"the BC human was cloned on a {_grid(trained.size)} grid ({trained.n_actions} "
            f"actions); this game is {_grid(cfg.size)} ({cfg.n_actions} actions): train one "
            f"with 'alignlab assist train-human --size {' '.join(map(str, cfg.size))}'",
            file=path,
            field=FIELD,
        )
    if cfg.finite_inventory:
        raise AlignlabError(
            "the BC human models infinite-inventory play (no GIVE actions); play it without "
            "--finite-inventory",
            file=path,
            field=FIELD,
        )
    return HumanModel(spec, bc_human_logits, params, True)


def describe_human(
    spec: str, beta: float = _DEFAULT.beta, mistake_rate: float = _DEFAULT.mistake_rate
) -> str:
    """How reports name the human: ``heuristic (β = 5.0, mistake rate 0.0)`` or
    ``behaviour-cloned (bc:PATH)``."""
    if spec == HEURISTIC:
        return f"heuristic (β = {beta}, mistake rate {mistake_rate})"
    return f"behaviour-cloned ({spec})"


def _grid(size: Any) -> str:
    return "×".join(map(str, size))
