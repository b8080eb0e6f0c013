"""The AssistanceZero network (arXiv 2504.07091): one 3D-conv trunk over the assistant's
observation and four heads — policy, value, goal belief and the human's next action.

Written with ``flax.linen`` (functional ``init``/``apply`` on a params pytree, so the search
and a trainer can ``jit``/``vmap``/``grad`` through plain functions with ``NetConfig`` and
``EnvConfig`` static)::

    params = init_params(net_cfg, env_cfg, key)
    out = apply(net_cfg, env_cfg, params, assistant_input(env_cfg, states, False))
    out.policy_logits  # [..., A]: mask with the assistant's legal mask before use

Input: the observation ``[..., 6, X, Y, Z] float32`` (``_env.observe`` for the assistant; any
leading batch dims). Channel by channel (``_layout``'s ``OBS_*``):

* block ids (0..9) → a learned embedding of ``block_embed`` features;
* goal block ids → a second embedding of ``block_embed``, **only** with ``goal_visible`` (the
  upper-bound baseline). Otherwise the goal channel is never read, so nothing the network
  computes can depend on it (the assistant's goal channel is zero anyway);
* player locations (0 none, 1 self, 2 the other) and last interacted (0 nobody, 1 self,
  2 the other) → embeddings of ``aux_embed`` features each;
* the block-state channels (always 0) are ignored.

Trunk (channels-last ``[N, X, Y, Z, C]``): the embeddings are concatenated and projected to
``width`` by a 1×1×1 convolution, then ``depth`` pre-activation residual layers
``h + conv_k(relu(LayerNorm(h)))`` (one ``kernel``³ convolution each, zero padding at the grid's
border; ``depth`` counts convolutions, as the paper's "8 layers" does), and a final
LayerNorm + relu. The paper's GPU network is ``NetConfig(width=64, depth=8, kernel=5)`` (it
also has per-voxel LSTMs, left out here: the search treats each state alone). The defaults
(width 32, depth 2, kernel 3) are the small CPU recipe's.

Heads:

* **policy** ``[..., A]`` logits in the flat layout of ``_layout``: a 1×1×1 convolution gives 9
  logits per voxel (BREAK, then PLACE of blocks 2..9), NOOP and the 6 moves come from pooled
  features (mean and max over voxels), and, with finite inventories, the 8 GIVEs too;
* **value** ``[...]``: unbounded (a linear output after a hidden layer on the pooled
  features). Returns here are discounted sums of similarity changes (the reward is a count of
  voxels, tens on a house), so a tanh would need a scale chosen per grid; the search
  normalises Q-values min–max anyway;
* **goal** ``[..., X, Y, Z, 10]`` per-voxel logits over the goal's block id — the factorised
  goal belief;
* **human** ``[..., A]`` logits of the human's next action, same layout and construction as
  the policy (its own weights).

Masking by legality is the consumer's job (``_search`` masks both action heads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from alignlab.assist._env import State, observe
from alignlab.assist._layout import (
    ASSISTANT,
    N_BLOCKS,
    N_MOVES,
    N_OBS_CHANNELS,
    N_PLACEABLE,
    OBS_BLOCKS,
    OBS_GOAL_BLOCKS,
    OBS_LAST_INTERACTED,
    OBS_PLAYERS,
    EnvConfig,
)

_N_GLOBAL = 1 + N_MOVES  # NOOP + moves
_N_VOXEL_ACTIONS = 1 + N_PLACEABLE  # BREAK + one PLACE per placeable block


@dataclass(frozen=True)
class NetConfig:
    """Static network settings (hashable). Paper (GPU): ``width=64, depth=8, kernel=5``."""

    width: int = 32  # trunk channels
    depth: int = 2  # residual convolutions
    kernel: int = 3  # convolution side
    block_embed: int = 8  # features per block id (and per goal block id)
    aux_embed: int = 4  # features per player-location and last-interacted code
    goal_visible: bool = False  # read the goal channel (upper-bound baseline only)


class NetOut(NamedTuple):
    """Network outputs; ``...`` = the input's leading batch dims, ``A = env_cfg.n_actions``."""

    policy_logits: jax.Array  # [..., A] float32, unmasked
    value: jax.Array  # [...] float32, unbounded
    goal_logits: jax.Array  # [..., X, Y, Z, 10] float32
    human_logits: jax.Array  # [..., A] float32, unmasked


def conv3d(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """ "SAME" (zero-padded) 3D convolution of ``x [N, X, Y, Z, C]`` with ``kernel [k, k, k, C,
    D]`` (odd ``k``), computed as one 2D convolution over ``(Y, Z)`` whose input channels hold
    the ``k`` shifts along ``x``: XLA's CPU 3D convolution is ~5× slower than its 2D one at
    these sizes (6³ grid, 32 channels), and the result is the same convolution."""
    n, nx, ny, nz, c = x.shape
    k = kernel.shape[0]
    pad = k // 2
    xp = jnp.pad(x, ((0, 0), (pad, pad), (0, 0), (0, 0), (0, 0)))
    shifts = jnp.concatenate([xp[:, i : i + nx] for i in range(k)], axis=-1)
    kernel2d = jnp.transpose(kernel, (1, 2, 0, 3, 4)).reshape(k, k, k * c, -1)
    y = jax.lax.conv_general_dilated(
        shifts.reshape(n * nx, ny, nz, k * c),
        kernel2d,
        (1, 1),
        "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    return y.reshape(n, nx, ny, nz, -1)


class _Conv3d(nn.Module):
    """A bias-free ``kernel``³ "SAME" convolution to ``features`` channels (``conv3d``)."""

    features: int
    kernel: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        shape = (self.kernel,) * 3 + (x.shape[-1], self.features)
        w = self.param("kernel", nn.initializers.lecun_normal(), shape)
        return conv3d(x, w)


class _ActionHead(nn.Module):
    """Flat-layout logits ``[N, A]`` from voxel features ``[N, X, Y, Z, C]`` and pooled
    features ``[N, F]``."""

    n_give: int

    @nn.compact
    def __call__(self, h: jax.Array, pooled: jax.Array) -> jax.Array:
        n = h.shape[0]
        per_voxel = nn.Dense(_N_VOXEL_ACTIONS, name="voxel")(h)  # a 1×1×1 convolution
        # [N, X, Y, Z, 9] -> [N, 9, V]: BREAK(v) block, then PLACE(v, b) block-major
        per_voxel = jnp.moveaxis(per_voxel.reshape(n, -1, _N_VOXEL_ACTIONS), -1, 1)
        glob = nn.Dense(_N_GLOBAL + self.n_give, name="global")(pooled)
        parts = [glob[:, :_N_GLOBAL], per_voxel.reshape(n, -1)]
        if self.n_give:
            parts.append(glob[:, _N_GLOBAL:])
        return jnp.concatenate(parts, axis=-1)


class AssistNet(nn.Module):
    """The flax module behind ``init_params``/``apply``; input ``[N, 6, X, Y, Z]``."""

    net_cfg: NetConfig
    env_cfg: EnvConfig

    def _embed(self, obs: jax.Array) -> jax.Array:
        cfg = self.net_cfg

        def code(channel: int, top: int) -> jax.Array:
            return jnp.clip(obs[:, channel].astype(jnp.int32), 0, top)

        feats = [nn.Embed(N_BLOCKS, cfg.block_embed, name="blocks")(code(OBS_BLOCKS, 9))]
        if cfg.goal_visible:
            feats.append(nn.Embed(N_BLOCKS, cfg.block_embed, name="goal")(code(OBS_GOAL_BLOCKS, 9)))
        feats.append(nn.Embed(3, cfg.aux_embed, name="players")(code(OBS_PLAYERS, 2)))
        last = code(OBS_LAST_INTERACTED, 2)
        feats.append(nn.Embed(3, cfg.aux_embed, name="last")(last))
        return jnp.concatenate(feats, axis=-1)  # [N, X, Y, Z, F]

    @nn.compact
    def __call__(self, obs: jax.Array) -> NetOut:
        cfg = self.net_cfg
        h = nn.Dense(cfg.width, name="stem")(self._embed(obs))
        for i in range(cfg.depth):
            r = nn.relu(nn.LayerNorm(name=f"norm{i}")(h))
            h = h + _Conv3d(cfg.width, cfg.kernel, name=f"conv{i}")(r)
        h = nn.relu(nn.LayerNorm(name="norm_out")(h))
        n = h.shape[0]
        flat = h.reshape(n, -1, cfg.width)
        pooled = jnp.concatenate([flat.mean(axis=1), flat.max(axis=1)], axis=-1)
        n_give = N_PLACEABLE if self.env_cfg.finite_inventory else 0
        policy = _ActionHead(n_give, name="policy")(h, pooled)
        human = _ActionHead(n_give, name="human")(h, pooled)
        v = nn.relu(nn.Dense(cfg.width, name="value_hidden")(pooled))
        value = nn.Dense(1, name="value")(v)[:, 0]
        goal = nn.Dense(N_BLOCKS, name="goal_head")(h)
        return NetOut(policy, value, goal, human)


def init_params(net_cfg: NetConfig, env_cfg: EnvConfig, key: jax.Array) -> Any:
    """A fresh params pytree (flax variables) for ``apply``."""
    dummy = jnp.zeros((1, N_OBS_CHANNELS, *env_cfg.size), jnp.float32)
    return AssistNet(net_cfg, env_cfg).init(key, dummy)


def apply(net_cfg: NetConfig, env_cfg: EnvConfig, params: Any, obs: jax.Array) -> NetOut:
    """``NetOut`` for observations ``[..., 6, X, Y, Z]`` (any leading batch dims, or none).
    Pure; ``jit`` it with the configs static."""
    lead = obs.shape[:-4]
    flat = obs.reshape((-1, *obs.shape[-4:]))
    out: NetOut = AssistNet(net_cfg, env_cfg).apply(params, flat)  # type: ignore[assignment]
    return NetOut(*(x.reshape(lead + x.shape[1:]) for x in out))


def assistant_input(env_cfg: EnvConfig, state: State, goal_visible: bool) -> jax.Array:
    """The network's input for ``state`` (one game or a batch with leading dims):
    ``observe(env_cfg, state, ASSISTANT)`` ``[..., 6, X, Y, Z]``, whose goal channel is zero;
    only with ``goal_visible`` is that channel filled from ``state.goal``."""
    lead = state.t.shape
    if lead:
        fn = lambda s: assistant_input(env_cfg, s, goal_visible)  # noqa: E731
        for _ in lead:
            fn = jax.vmap(fn)
        return fn(state)
    obs = observe(env_cfg, state, ASSISTANT)
    if goal_visible:
        obs = obs.at[OBS_GOAL_BLOCKS].set(state.goal.astype(jnp.float32))
    return obs


def param_count(params: Any) -> int:
    """Number of scalars in a params pytree."""
    return int(sum(x.size for x in jax.tree.leaves(params)))
