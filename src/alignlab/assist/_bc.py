"""A behaviour-cloned simulated human: record the heuristic human, fit a small 3D-conv
policy to its actions, save and load it. (AssistanceZero, arXiv 2504.07091, clones real human
play instead; a clone of the heuristic gives the same kind of learned, imperfect human offline.)

Recording: the human plays alone (the assistant always NOOPs); one episode is a ``lax.scan``
over the horizon and episodes run under ``jax.vmap`` (as in ``_rollout.py``). The human samples
from the heuristic's logits restricted to its legal mask (``_env.legal_action_mask``), so every
recorded action is legal under the recorded mask; only live steps (before termination or
truncation) are kept.

Network (``bc_logits``): per voxel, one-hot block id (10) and goal id (10), observer/other
player (2), last interaction by observer/other (2), "block differs from goal" (1) and height
``y / Y`` (1) = 26 input channels; ``layers`` 3×3×3 convs with ReLU (SAME padding); heads:
break ``[B, V]`` and place ``[B, 8, V]`` (1×1×1 convs, block-major like ``_layout``), globals
``[B, 7]`` (NOOP + 6 moves) from an MLP on mean- and max-pooled features. Flat order
``[globals(7) | break(V) | place(8·V)]`` = ``_layout``'s action order.

Params are a flat ``dict[str, array]`` (``conv{i}/w [O, I, 3, 3, 3]``, ``conv{i}/b [O]``,
``break/w [1, C]``, ``place/w [8, C]``, ``glob0/w [2C, C]``, ``glob1/w [C, 7]`` and biases).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.assist._humans import HeuristicParams
from alignlab.assist._layout import (
    HUMAN,
    N_BLOCKS,
    N_OBS_CHANNELS,
    N_PLACEABLE,
    OBS_BLOCKS,
    OBS_GOAL_BLOCKS,
    OBS_LAST_INTERACTED,
    OBS_PLAYERS,
    EnvConfig,
)
from alignlab.core import AlignlabError, load_arrays, save_arrays

TRAJ_KEYS = ("obs", "actions", "masks")
N_GLOBALS = 7  # NOOP + 6 moves
N_FEATURES = 2 * N_BLOCKS + 2 + 2 + 1 + 1
MASKED = -1e9  # logit of illegal actions in the loss (finite: no NaN from 0 · -inf)


# ---------------------------------------------------------------- recording


def _goals(cfg: EnvConfig, n: int, rng: np.random.Generator, goals: str) -> np.ndarray:
    if goals == "house":
        from alignlab.assist._houses import house

        return np.stack([house(cfg.size, rng) for _ in range(n)])
    if goals == "blob":
        from alignlab.assist._goals import random_blob

        return np.stack([random_blob(cfg.size, rng) for _ in range(n)])
    raise AlignlabError(f"unknown goals '{goals}'; use house or blob", field="goals")


@functools.lru_cache(maxsize=8)
def _record_fn(cfg: EnvConfig) -> Callable[..., Any]:
    """Jitted ``(keys [B], goals [B,X,Y,Z], params) -> (obs, actions, masks, live)`` with a
    leading ``[B, T]``."""
    import jax
    import jax.numpy as jnp

    from alignlab.assist import _env
    from alignlab.assist._humans import heuristic_logits

    def one(key: Any, goal: Any, params: HeuristicParams) -> Any:
        k0, k_run = jax.random.split(key)
        state = _env._init(cfg, k0, goal)

        def body(s: Any, k: Any) -> Any:
            obs = _env.observe(cfg, s, HUMAN)
            mask = _env.legal_action_mask(cfg, s, HUMAN)
            logits = jnp.where(mask, heuristic_logits(params, k, obs, cfg), -jnp.inf)
            a = jax.random.categorical(k, logits).astype(jnp.int32)
            nxt = _env.step(cfg, s, jnp.stack([a, jnp.int32(0)]))
            live = ~(s.terminated | s.truncated)
            return nxt, (obs, a, mask, live)

        _, recs = jax.lax.scan(body, state, jax.random.split(k_run, cfg.horizon))
        return recs

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


def record_heuristic(
    cfg: EnvConfig,
    n_episodes: int,
    seed: int,
    *,
    params: HeuristicParams | None = None,
    goals: str = "house",
) -> dict[str, np.ndarray]:
    """Play ``n_episodes`` of the heuristic human (``params``, default ``HeuristicParams()``)
    alone on ``goals`` (house or blob); return the live steps as ``obs [N, 6, X, Y, Z]
    float32``, ``actions [N] int32``, ``masks [N, n_actions] bool``."""
    import jax

    params = HeuristicParams() if params is None else params
    if cfg.finite_inventory:
        raise AlignlabError(
            "the behaviour-cloned human models infinite-inventory play (the paper's setting)",
            field="finite_inventory",
        )
    if n_episodes < 1:
        raise AlignlabError("need at least one episode", field="episodes")
    goal_arr = _goals(cfg, n_episodes, np.random.default_rng(seed), goals)
    keys = jax.random.split(jax.random.PRNGKey(seed), n_episodes)
    obs, act, mask, live = (np.asarray(x) for x in _record_fn(cfg)(keys, goal_arr, params))
    keep = live.reshape(-1)
    return {
        "obs": obs.reshape(-1, *obs.shape[2:])[keep].astype(np.float32),
        "actions": act.reshape(-1)[keep].astype(np.int32),
        "masks": mask.reshape(-1, mask.shape[-1])[keep].astype(bool),
    }


def save_trajectories(path: str | Path, data: dict[str, np.ndarray]) -> None:
    """Write ``data`` (see ``record_heuristic``) to a compressed ``.npz`` atomically."""
    _check_trajectories(data, str(path))
    arrays = {k: np.asarray(data[k]) for k in TRAJ_KEYS}
    save_arrays(path, arrays, {"kind": "bc-trajectories"}, compress=True)


def load_trajectories(path: str | Path) -> dict[str, np.ndarray]:
    """Read and validate an ``.npz`` written by ``save_trajectories``."""
    p = Path(path)
    if not p.is_file():
        raise AlignlabError("trajectory file not found", file=str(p))
    data, _ = load_arrays(p)
    _check_trajectories(data, str(p))
    return data


def _check_trajectories(data: dict[str, Any], file: str) -> None:
    missing = [k for k in TRAJ_KEYS if k not in data]
    if missing:
        raise AlignlabError(f"missing arrays: {', '.join(missing)}", file=file)
    obs, act, mask = (np.asarray(data[k]) for k in TRAJ_KEYS)
    if obs.ndim != 5 or obs.shape[1] != N_OBS_CHANNELS:
        raise AlignlabError(f"obs must be [N, 6, X, Y, Z], got {obs.shape}", file=file, field="obs")
    n, v = obs.shape[0], int(np.prod(obs.shape[2:]))
    n_act = EnvConfig(size=tuple(obs.shape[2:])).n_actions  # type: ignore[arg-type]
    if act.shape != (n,) or act.dtype.kind not in "iu":
        raise AlignlabError(
            f"actions must be [{n}] int, got {act.shape}", file=file, field="actions"
        )
    if mask.shape != (n, n_act) or mask.dtype != bool:
        raise AlignlabError(
            f"masks must be [{n}, {n_act}] bool for V={v}, got {mask.shape} {mask.dtype}",
            file=file,
            field="masks",
        )
    if n and (act.min() < 0 or act.max() >= n_act):
        raise AlignlabError(f"action ids must be in 0..{n_act - 1}", file=file, field="actions")


# ---------------------------------------------------------------- network


def init_bc_params(key: Any, cfg: EnvConfig, channels: int = 16, layers: int = 2) -> dict[str, Any]:
    """He-initialised params (see module doc) for ``cfg``'s grid (the convs do not depend on it)."""
    import jax
    import jax.numpy as jnp

    if channels < 1 or layers < 1:
        raise AlignlabError("channels and layers must be >= 1", field="channels")
    keys = iter(jax.random.split(key, layers + 4))
    p: dict[str, Any] = {}

    def dense(name: str, shape: tuple[int, ...], fan_in: int) -> None:
        p[f"{name}/w"] = jax.random.normal(next(keys), shape) * jnp.sqrt(2.0 / fan_in)
        p[f"{name}/b"] = jnp.zeros(shape[0] if name.startswith("conv") else shape[-1])

    c_in = N_FEATURES
    for i in range(layers):
        dense(f"conv{i}", (channels, c_in, 3, 3, 3), c_in * 27)
        c_in = channels
    dense("break", (channels, 1), channels)
    dense("place", (channels, N_PLACEABLE), channels)
    dense("glob0", (2 * channels, channels), 2 * channels)
    dense("glob1", (channels, N_GLOBALS), channels)
    return p


def _features(obs: Any) -> Any:
    """``[B, 6, X, Y, Z]`` observation -> ``[B, N_FEATURES, X, Y, Z] float32``."""
    import jax
    import jax.numpy as jnp

    blocks = jnp.round(obs[:, OBS_BLOCKS]).astype(jnp.int32)
    goal = jnp.round(obs[:, OBS_GOAL_BLOCKS]).astype(jnp.int32)
    players = jnp.round(obs[:, OBS_PLAYERS])
    last = jnp.round(obs[:, OBS_LAST_INTERACTED])
    y = jnp.broadcast_to(
        (jnp.arange(obs.shape[3], dtype=jnp.float32) / obs.shape[3])[None, :, None],
        obs.shape[2:],
    )
    parts = [
        jnp.moveaxis(jax.nn.one_hot(blocks, N_BLOCKS), -1, 1),
        jnp.moveaxis(jax.nn.one_hot(goal, N_BLOCKS), -1, 1),
        jnp.stack([players == 1, players == 2, last == 1, last == 2, blocks != goal], 1),
        jnp.broadcast_to(y, blocks.shape)[:, None],
    ]
    return jnp.concatenate([x.astype(jnp.float32) for x in parts], axis=1)


def bc_logits(params: dict[str, Any], obs: Any, cfg: EnvConfig) -> Any:
    """Unmasked logits ``[B, n_actions] float32`` for observations ``[B, 6, X, Y, Z]``."""
    import jax
    import jax.numpy as jnp

    h = _features(obs)
    n_conv = sum(1 for k in params if k.startswith("conv") and k.endswith("/w"))
    for i in range(n_conv):
        h = jax.lax.conv_general_dilated(
            h, params[f"conv{i}/w"], (1, 1, 1), "SAME",
            dimension_numbers=("NCDHW", "OIDHW", "NCDHW"),
        )  # fmt: skip
        h = jax.nn.relu(h + params[f"conv{i}/b"][None, :, None, None, None])
    b = h.shape[0]
    flat = h.reshape(b, h.shape[1], -1)  # [B, C, V], v = (x*Y + y)*Z + z (C order)
    brk = jnp.einsum("bcv,co->bov", flat, params["break/w"])[:, 0] + params["break/b"][0]
    place = jnp.einsum("bcv,co->bov", flat, params["place/w"]) + params["place/b"][None, :, None]
    pooled = jnp.concatenate([flat.mean(-1), flat.max(-1)], axis=1)  # [B, 2C]
    g = jax.nn.relu(pooled @ params["glob0/w"] + params["glob0/b"])
    glob = g @ params["glob1/w"] + params["glob1/b"]
    return jnp.concatenate([glob, brk, place.reshape(b, -1)], axis=1)


def bc_loss(params: dict[str, Any], obs: Any, actions: Any, masks: Any, cfg: EnvConfig) -> Any:
    """Mean masked cross-entropy ``[]`` (nats): illegal actions get ``MASKED`` before softmax."""
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(jnp.where(masks, bc_logits(params, obs, cfg), MASKED), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, actions[:, None], axis=1))


@functools.lru_cache(maxsize=8)
def _eval_fn(cfg: EnvConfig) -> Callable[..., Any]:
    import jax
    import jax.numpy as jnp

    def ev(params: Any, obs: Any, actions: Any, masks: Any) -> Any:
        logits = jnp.where(masks, bc_logits(params, obs, cfg), MASKED)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, actions[:, None], axis=1)[:, 0]
        return nll, jnp.argmax(logits, axis=-1) == actions

    return jax.jit(ev)


def evaluate_bc(
    params: dict[str, Any], data: dict[str, np.ndarray], cfg: EnvConfig, batch_size: int = 256
) -> dict[str, float]:
    """``{"ce": mean masked cross-entropy (nats), "accuracy": share with masked argmax ==
    recorded action}`` over ``data`` (evaluated in chunks of ``batch_size``)."""
    n = len(data["actions"])
    if n == 0:
        return {"ce": float("nan"), "accuracy": float("nan")}
    nll, hit = [], []
    for i in range(0, n, batch_size):
        sl = slice(i, i + batch_size)
        a, h = _eval_fn(cfg)(params, data["obs"][sl], data["actions"][sl], data["masks"][sl])
        nll.append(np.asarray(a))
        hit.append(np.asarray(h))
    return {"ce": float(np.concatenate(nll).mean()), "accuracy": float(np.concatenate(hit).mean())}


def heuristic_ce(
    data: dict[str, np.ndarray], cfg: EnvConfig, params: HeuristicParams | None = None
) -> float:
    """Mean masked cross-entropy (nats) of the heuristic human itself on ``data``: for data from
    ``record_heuristic`` with the same ``params`` this is the generating policy, so it estimates
    the floor a perfect clone would reach."""
    import jax
    import jax.numpy as jnp

    from alignlab.assist._humans import heuristic_logits

    params = HeuristicParams() if params is None else params
    if len(data["actions"]) == 0:
        return float("nan")

    @jax.jit
    def nll(obs: Any, act: Any, mask: Any) -> Any:
        logits = jax.vmap(lambda o: heuristic_logits(params, None, o, cfg))(obs)
        logp = jax.nn.log_softmax(jnp.where(mask, logits, MASKED), axis=-1)
        return -jnp.take_along_axis(logp, act[:, None], axis=1)[:, 0]

    chunks = [slice(i, i + 256) for i in range(0, len(data["actions"]), 256)]
    out = [np.asarray(nll(*(data[k][sl] for k in TRAJ_KEYS))) for sl in chunks]
    return float(np.concatenate(out).mean())


def majority_accuracy(train_actions: np.ndarray, val_actions: np.ndarray) -> float:
    """Accuracy on ``val_actions`` of always predicting the most common training action."""
    if len(val_actions) == 0 or len(train_actions) == 0:
        return float("nan")
    top = np.bincount(train_actions).argmax()
    return float(np.mean(val_actions == top))


def split_data(
    data: dict[str, np.ndarray], val_fraction: float, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Random ``(train, val)`` split of the steps (``val`` gets ``round(val_fraction · N)``)."""
    if not 0.0 <= val_fraction < 1.0:
        raise AlignlabError("val_fraction must be in [0, 1)", field="val_fraction")
    n = len(data["actions"])
    perm = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    pick = lambda idx: {k: np.asarray(data[k])[idx] for k in TRAJ_KEYS}  # noqa: E731
    return pick(np.sort(perm[n_val:])), pick(np.sort(perm[:n_val]))


def train_bc(
    data: dict[str, np.ndarray],
    cfg: EnvConfig,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    val_fraction: float = 0.1,
    channels: int = 16,
    layers: int = 2,
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Fit the BC policy with Adam on masked cross-entropy. Returns ``(params, history)``;
    history has one row per epoch: ``epoch``, ``train_loss`` (mean over the epoch's batches),
    ``val_ce``, ``val_accuracy`` and ``baseline_accuracy`` (most common training action).
    The last partial batch of each epoch is dropped, so one compiled step serves all batches."""
    import jax
    import optax

    train, val = split_data(data, val_fraction, seed)
    n = len(train["actions"])
    if n == 0:
        raise AlignlabError("no training steps (record more episodes)", field="data")
    bs = max(1, min(batch_size, n))
    params = init_bc_params(jax.random.PRNGKey(seed), cfg, channels, layers)
    opt = optax.adam(lr)
    opt_state = opt.init(params)

    @jax.jit
    def update(params: Any, opt_state: Any, obs: Any, act: Any, mask: Any) -> Any:
        loss, grads = jax.value_and_grad(bc_loss)(params, obs, act, mask, cfg)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(seed + 1)
    base = majority_accuracy(train["actions"], val["actions"])
    history = []
    for epoch in range(1, epochs + 1):
        perm = rng.permutation(n)
        losses = []
        for i in range(0, n - bs + 1, bs):
            idx = perm[i : i + bs]
            params, opt_state, loss = update(
                params, opt_state, train["obs"][idx], train["actions"][idx], train["masks"][idx]
            )
            losses.append(float(loss))
        ev = evaluate_bc(params, val, cfg)
        history.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "val_ce": ev["ce"],
                "val_accuracy": ev["accuracy"],
                "baseline_accuracy": base,
            }
        )
    return params, history


# ---------------------------------------------------------------- files


def save_bc(path: str | Path, params: dict[str, Any], cfg: EnvConfig) -> None:
    """Write params (one array per name) and the ``EnvConfig`` (metadata ``env_config``) to an
    ``.npz`` atomically."""
    import dataclasses

    arrays = {k: np.asarray(v) for k, v in params.items()}
    save_arrays(path, arrays, {"kind": "bc-human", "env_config": dataclasses.asdict(cfg)})


def load_bc(path: str | Path) -> tuple[dict[str, Any], EnvConfig]:
    """Read ``(params, cfg)`` written by ``save_bc``."""
    import jax.numpy as jnp

    p = Path(path)
    if not p.is_file():
        raise AlignlabError("BC model file not found", file=str(p))
    arrays, meta = load_arrays(p)
    if not isinstance(meta.get("env_config"), dict):
        raise AlignlabError("not a BC model file (no env_config)", file=str(p), field="env_config")
    params = {k: jnp.asarray(v) for k, v in arrays.items()}
    if not any(k.startswith("conv") for k in params) or "glob1/w" not in params:
        raise AlignlabError("BC model file lacks network weights", file=str(p))
    try:
        env = meta["env_config"]
        kw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in env.items()}
        cfg = EnvConfig(**kw)
    except TypeError as exc:  # an unknown or missing field
        raise AlignlabError(f"bad env_config in BC model file ({exc})", file=str(p)) from exc
    return params, cfg
