"""Gumbel MuZero search (Danihelka et al., ICLR 2022) over ``mctx``'s tree, with a backward pass
whose cost per simulation does not grow with the tree.

``gumbel_muzero(...)`` takes and returns what ``mctx.gumbel_muzero_policy`` does and selects
actions with mctx's own public pieces (``gumbel_muzero_root_action_selection``,
``gumbel_muzero_interior_action_selection``, ``qtransform_completed_by_mix_value``) on an
``mctx.Tree``; only the loop around them is written here. Why: ``mctx.search`` vmaps a
``while_loop`` whose carry is the whole tree over the batch, and a batched ``while_loop``
selects every carried array each iteration (rows that finished keep their old values), so each
backward step copies the ``[B, N, A]`` child statistics. With ~2·10³ actions (the 6³ game) and
64 simulations that is most of the search's time on a CPU. Here the backward loop runs
``while any row is below its root`` with an unbatched predicate, and every update is a scatter
of ``B`` entries (finished rows write back what they read), so XLA updates the tree in place.
Selection keeps mctx's per-row loop (its carry is a few scalars per row) but makes the root's
choice once before it: mctx's ``cond`` between the root and interior rules, batched, runs both
at every depth. The children's embeddings are written only after the parents' are read (see
``_expand``), which spares a copy of each embedding array per simulation.

Semantics are mctx's (one child per action, values backed up as ``reward + discount ·
value``, the action and ``action_weights`` chosen as ``gumbel_muzero_policy`` does);
``tests/assist/test_search.py`` holds the two to the same outputs on a toy problem.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import mctx

_ROOT = mctx.Tree.ROOT_INDEX
_UNVISITED = mctx.Tree.UNVISITED
_NO_PARENT = mctx.Tree.NO_PARENT


def _init_tree(root: mctx.RootFnOutput, n_sims: int, invalid: jax.Array, extra: Any) -> mctx.Tree:
    b, n_act = root.prior_logits.shape
    n = n_sims + 1
    f = root.value.dtype

    def zeros(x: jax.Array) -> jax.Array:
        return jnp.zeros((b, n, *x.shape[1:]), x.dtype).at[:, _ROOT].set(x)

    return mctx.Tree(
        node_visits=jnp.zeros((b, n), jnp.int32).at[:, _ROOT].set(1),
        raw_values=zeros(root.value),
        node_values=zeros(root.value),
        parents=jnp.full((b, n), _NO_PARENT, jnp.int32),
        action_from_parent=jnp.full((b, n), _NO_PARENT, jnp.int32),
        children_index=jnp.full((b, n, n_act), _UNVISITED, jnp.int32),
        children_prior_logits=zeros(root.prior_logits),
        children_values=jnp.zeros((b, n, n_act), f),
        children_visits=jnp.zeros((b, n, n_act), jnp.int32),
        children_rewards=jnp.zeros((b, n, n_act), f),
        children_discounts=jnp.zeros((b, n, n_act), f),
        embeddings=jax.tree.map(zeros, root.embedding),
        root_invalid_actions=invalid,
        extra_data=extra,
    )


def _simulate(
    tree: mctx.Tree,
    root_select: Callable[..., jax.Array],
    inner_select: Callable[..., jax.Array],
    max_depth: int,
) -> tuple[jax.Array, jax.Array]:
    """Descend each row from the root to an unvisited action or ``max_depth``; return
    ``(parent [B], action [B])``. The root's choice is made once, outside the per-row loop (a
    ``cond`` between the two rules would, batched, evaluate both at every depth)."""
    rows = jnp.arange(tree.node_values.shape[0])
    tree = tree.replace(embeddings=())  # selection never reads them; keep them out of its loops
    no_key = jax.random.key(0)  # mctx's Gumbel selection rules ignore their key
    first = jax.vmap(lambda t: root_select(no_key, t, _ROOT))(tree)
    nxt0 = tree.children_index[rows, _ROOT, first]

    def one(t: mctx.Tree, action: jax.Array, nxt: jax.Array) -> tuple[jax.Array, jax.Array]:
        def body(c: tuple) -> tuple:
            _, _, nxt, depth, _ = c
            action = inner_select(no_key, t, nxt, depth)
            child = t.children_index[nxt, action]
            go = (child != _UNVISITED) & (depth + 1 < max_depth)
            return nxt, action, child, depth + 1, go

        go = (nxt != _UNVISITED) & (max_depth > 1)
        init = (jnp.int32(_ROOT), action, nxt, jnp.int32(1), go)
        end = jax.lax.while_loop(lambda c: c[-1], body, init)
        return end[0], end[1]

    return jax.vmap(one)(tree, first, nxt0)


def _set(x: jax.Array, rows: jax.Array, idx: tuple[jax.Array, ...], v: jax.Array) -> jax.Array:
    return x.at[(rows, *idx)].set(v)


def _expand(
    params: Any,
    key: jax.Array,
    tree: mctx.Tree,
    recurrent_fn: mctx.RecurrentFn,
    parent: jax.Array,
    action: jax.Array,
    child: jax.Array,
) -> mctx.Tree:
    rows = jnp.arange(parent.shape[0])
    old = jax.tree.map(lambda x: x[rows, parent], tree.embeddings)
    out, emb = recurrent_fn(params, key, action, old)
    # Make every written leaf depend on the parent's leaf read from the same array (a select on
    # a condition that is always true but not known to XLA): a leaf of the child computed
    # without the parent's (e.g. a fresh goal belief) would otherwise let XLA order the write
    # first and copy the whole ``[B, N, ...]`` array each simulation to keep the read valid.
    keep = parent >= 0
    emb = jax.tree.map(
        lambda new, prev: jnp.where(keep.reshape((-1,) + (1,) * (new.ndim - 1)), new, prev),
        emb,
        old,
    )
    pa = (parent, action)
    return tree.replace(
        node_visits=_set(tree.node_visits, rows, (child,), tree.node_visits[rows, child] + 1),
        raw_values=_set(tree.raw_values, rows, (child,), out.value),
        node_values=_set(tree.node_values, rows, (child,), out.value),
        children_prior_logits=_set(tree.children_prior_logits, rows, (child,), out.prior_logits),
        embeddings=jax.tree.map(lambda t, s: _set(t, rows, (child,), s), tree.embeddings, emb),
        children_index=_set(tree.children_index, rows, pa, child),
        children_rewards=_set(tree.children_rewards, rows, pa, out.reward),
        children_discounts=_set(tree.children_discounts, rows, pa, out.discount),
        parents=_set(tree.parents, rows, (child,), parent),
        action_from_parent=_set(tree.action_from_parent, rows, (child,), action),
    )


def _backward(tree: mctx.Tree, leaf: jax.Array) -> mctx.Tree:
    """Back up each row's leaf value to its root, all rows in one loop (see module doc). The
    loop carries only the four arrays it updates; the rest of the tree is read-only."""
    rows = jnp.arange(leaf.shape[0])

    def body(c: tuple) -> tuple:
        (node_values, node_visits, child_values, child_visits), value, index = c
        live = index != _ROOT
        parent = jnp.where(live, tree.parents[rows, index], _ROOT)
        action = jnp.where(live, tree.action_from_parent[rows, index], 0)
        pa = (parent, action)
        reward = tree.children_rewards[rows, parent, action]
        value = reward + tree.children_discounts[rows, parent, action] * value
        count = node_visits[rows, parent]
        old_v = node_values[rows, parent]
        new_v = jnp.where(live, (old_v * count + value) / (count + 1.0), old_v)
        old_cv = child_values[rows, parent, action]
        arrays = (
            _set(node_values, rows, (parent,), new_v),
            _set(node_visits, rows, (parent,), count + live),
            _set(child_values, rows, pa, jnp.where(live, node_values[rows, index], old_cv)),
            _set(child_visits, rows, pa, child_visits[rows, parent, action] + live),
        )
        return arrays, value, jnp.where(live, parent, _ROOT)

    arrays = (tree.node_values, tree.node_visits, tree.children_values, tree.children_visits)
    init = (arrays, tree.node_values[rows, leaf], leaf.astype(jnp.int32))
    arrays, _, _ = jax.lax.while_loop(lambda c: jnp.any(c[2] != _ROOT), body, init)
    nv, nvis, cv, cvis = arrays
    return tree.replace(node_values=nv, node_visits=nvis, children_values=cv, children_visits=cvis)


def _score_considered(
    considered: jax.Array, gumbel: jax.Array, logits: jax.Array, q: jax.Array, visits: jax.Array
) -> jax.Array:
    """Sequential halving's score: ``gumbel + logits + q`` on the actions visited
    ``considered`` times, ``-inf`` elsewhere."""
    logits = logits - jnp.max(logits, axis=-1, keepdims=True)
    score = jnp.maximum(-1e9, gumbel + logits + q)
    return jnp.where(visits == considered, score, -jnp.inf)


def gumbel_muzero(
    params: Any,
    key: jax.Array,
    root: mctx.RootFnOutput,
    recurrent_fn: mctx.RecurrentFn,
    num_simulations: int,
    invalid_actions: jax.Array,
    *,
    max_num_considered_actions: int = 16,
    gumbel_scale: float = 1.0,
) -> mctx.PolicyOutput:
    """``mctx.gumbel_muzero_policy`` (same arguments, ``invalid_actions [B, A]`` required,
    ``max_depth = num_simulations``, the default Q-transform) with the in-place loop of the
    module doc. Returns ``mctx.PolicyOutput(action [B], action_weights [B, A], search_tree)``."""
    qtransform = mctx.qtransform_completed_by_mix_value
    min_logit = jnp.finfo(root.prior_logits.dtype).min
    logits = root.prior_logits - jnp.max(root.prior_logits, axis=-1, keepdims=True)
    root = root.replace(prior_logits=jnp.where(invalid_actions, min_logit, logits))
    key, k_gumbel = jax.random.split(key)
    gumbel = gumbel_scale * jax.random.gumbel(k_gumbel, root.prior_logits.shape)
    extra = mctx.GumbelMuZeroExtraData(root_gumbel=gumbel)
    tree = _init_tree(root, num_simulations, invalid_actions, extra)
    root_select = functools.partial(
        mctx.gumbel_muzero_root_action_selection,
        num_simulations=num_simulations,
        max_num_considered_actions=max_num_considered_actions,
        qtransform=qtransform,
    )
    inner_select = functools.partial(
        mctx.gumbel_muzero_interior_action_selection, qtransform=qtransform
    )

    b = root.value.shape[0]
    rows = jnp.arange(b)

    def body(sim: jax.Array, c: tuple) -> tuple:
        key, tree = c
        key, _, k_exp = jax.random.split(key, 3)  # mctx's split: the same keys reach recurrent_fn
        parent, action = _simulate(tree, root_select, inner_select, num_simulations)
        child = tree.children_index[rows, parent, action]
        child = jnp.where(child == _UNVISITED, sim + 1, child)
        tree = _expand(params, k_exp, tree, recurrent_fn, parent, action, child)
        return key, _backward(tree, child)

    _, tree = jax.lax.fori_loop(0, num_simulations, body, (key, tree))
    visits = tree.children_visits[:, _ROOT]
    q = jax.vmap(qtransform, in_axes=(0, None))(tree, _ROOT)
    considered = jnp.max(visits, axis=-1, keepdims=True)
    score = _score_considered(considered, gumbel, root.prior_logits, q, visits)
    action = jnp.argmax(jnp.where(invalid_actions, -jnp.inf, score), axis=-1).astype(jnp.int32)
    search_logits = root.prior_logits + q
    search_logits = search_logits - jnp.max(search_logits, axis=-1, keepdims=True)
    weights = jax.nn.softmax(jnp.where(invalid_actions, min_logit, search_logits), axis=-1)
    return mctx.PolicyOutput(action=action, action_weights=weights, search_tree=tree)
