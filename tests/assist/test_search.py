"""AssistanceZero's search: the expected-similarity reward against brute force, legality of
every tree action, goal blindness (bit for bit), the in-place Gumbel loop against mctx's, and
an oracle network whose search must find the one useful PLACE."""

from __future__ import annotations

import functools
import itertools
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import mctx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from alignlab.assist import _env, _net, _search  # noqa: E402
from alignlab.assist._goals import random_blob  # noqa: E402
from alignlab.assist._gumbel import gumbel_muzero  # noqa: E402
from alignlab.assist._layout import (  # noqa: E402
    AIR,
    ASSISTANT,
    BEDROCK,
    COBBLESTONE,
    DIRT,
    HUMAN,
    NOOP,
    EnvConfig,
    place_offset,
)
from alignlab.assist._net import NetConfig, NetOut, init_params  # noqa: E402
from alignlab.assist._search import (  # noqa: E402
    SearchConfig,
    expected_reward,
    expected_similarity,
    expected_similarity_table,
    make_search,
    sample_masked,
)
from alignlab.core import AlignlabError  # noqa: E402

ENV = EnvConfig(size=(6, 6, 6), start="mbag")  # the original's reach and line-of-sight rule
# The search does not care which rule the env plays by, and "off" compiles several times
# faster: the tests use it, except the tree-legality test, which runs under the default rule.
FAST = EnvConfig(size=(6, 6, 6), start="mbag", los="off")
TINY = NetConfig(width=8, depth=1, block_embed=4, aux_embed=2)
SEARCH = SearchConfig(num_simulations=6, max_num_considered_actions=4)
B = 12


@functools.cache
def _params(net_cfg: NetConfig) -> dict:
    """Random parameters of ``init_params``'s shapes, drawn in numpy: compiling flax's
    initialisers costs seconds, and any finite network does for these tests."""
    shapes = jax.eval_shape(lambda k: init_params(net_cfg, ENV, k), jax.random.key(0))
    rng = np.random.default_rng(0)
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(0, 0.3, s.shape), s.dtype), shapes)


@functools.partial(jax.jit, static_argnums=0)
def _play(cfg: EnvConfig, keys: jax.Array, goals: jax.Array, steps: jax.Array) -> _env.State:
    """Per game: ``steps`` random legal joint steps from ``init`` (at most 12)."""

    def one(key: jax.Array, goal: jax.Array, n_steps: jax.Array) -> _env.State:
        def body(i: jax.Array, s: _env.State) -> _env.State:
            k = jax.random.split(jax.random.fold_in(key, i))
            logits = [
                jnp.where(_env.legal_action_mask(cfg, s, p), 0.0, -jnp.inf)
                for p in (HUMAN, ASSISTANT)
            ]
            acts = jnp.stack([jax.random.categorical(k[p], logits[p]) for p in (0, 1)])
            nxt = _env.step(cfg, s, acts.astype(jnp.int32))
            return jax.tree.map(lambda a, b: jnp.where(i < n_steps, a, b), nxt, s)

        return jax.lax.fori_loop(0, 12, body, _env.init(cfg, key, goal))

    return jax.vmap(one)(keys, goals, steps)


@functools.cache
def _random_states(seed: int) -> _env.State:
    """``B`` games after 0..11 random legal joint steps from random starts and goals."""
    rng = np.random.default_rng(seed)
    goals = jnp.stack([jnp.asarray(random_blob(ENV.size, rng)) for _ in range(B)])
    keys = jax.random.split(jax.random.key(seed), B)
    return _play(FAST, keys, goals, jnp.asarray(rng.integers(0, 12, B)))


_search_fn = functools.cache(make_search)  # one compilation per configuration


# ---------------------------------------------------------------- expected reward


def test_expected_similarity_against_brute_force_over_all_goals() -> None:
    """On a 3-voxel world, enumerate all 10³ goals with their probability under a factorised
    belief and average the env's own similarity: the closed form must agree."""
    rng = np.random.default_rng(1)
    for place_wrong in (-1.0, -0.5):
        probs = rng.dirichlet(np.full(10, 0.5), size=(1, 1, 3)).astype(np.float32)
        old = rng.integers(0, 10, (1, 1, 3)).astype(np.uint8)
        new = old.copy()
        new[0, 0, 1] = AIR
        new[0, 0, 2] = COBBLESTONE
        table = expected_similarity_table(jnp.asarray(probs), place_wrong)
        want_old = want_new = 0.0
        for g in itertools.product(range(10), repeat=3):
            goal = np.asarray(g, np.uint8).reshape(1, 1, 3)
            p = float(np.prod([probs[0, 0, i, g[i]] for i in range(3)]))
            want_old += p * float(_env.voxel_similarity(old, goal, place_wrong).sum())
            want_new += p * float(_env.voxel_similarity(new, goal, place_wrong).sum())
        got = float(expected_similarity(table, jnp.asarray(old)))
        assert got == pytest.approx(want_old, abs=1e-4)
        got_r = float(expected_reward(table, jnp.asarray(old), jnp.asarray(new)))
        assert got_r == pytest.approx(want_new - want_old, abs=1e-4)


def test_one_hot_belief_gives_the_true_similarity() -> None:
    states = _random_states(0)
    table = expected_similarity_table(jax.nn.one_hot(states.goal, 10), ENV.place_wrong)
    got = expected_similarity(table, states.blocks)
    want = jax.vmap(lambda s: _env.similarity(ENV, s.blocks, s.goal))(states)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-4)


# ---------------------------------------------------------------- legality and sampling


def test_sample_masked_draws_only_legal_actions_with_the_right_frequencies() -> None:
    logits = jax.random.normal(jax.random.key(2), (3, 50)) * 2
    legal = jax.random.bernoulli(jax.random.key(3), 0.3, (3, 50)).at[:, 0].set(True)
    masked = jnp.where(legal, logits, jnp.finfo(jnp.float32).min)
    keys = jax.random.split(jax.random.key(4), 20000)
    draws = np.asarray(jax.jit(jax.vmap(lambda k: sample_masked(k, masked)))(keys))
    probs = np.asarray(jax.nn.softmax(masked, axis=-1))
    for row in range(3):
        assert np.asarray(legal)[row, draws[:, row]].all()
        freq = np.bincount(draws[:, row], minlength=50) / len(draws)
        np.testing.assert_allclose(freq, probs[row], atol=0.02)


def test_every_tree_action_is_legal_at_its_node() -> None:
    """Run the Gumbel loop with the search's own recurrent function and check every edge of
    every tree: the action taken from a node is legal in that node's state."""
    params = _params(TINY)
    cfg = SEARCH
    states = _search.hide_goal(_random_states(1))

    @jax.jit
    def tree(params: dict, states: _env.State, key: jax.Array) -> mctx.Tree:
        _, prior, masks, node = _search._evaluate(ENV, TINY, cfg, params, states)
        legal = jax.vmap(functools.partial(_env.flat_mask, ENV))(masks)
        root = mctx.RootFnOutput(prior_logits=prior, value=jnp.zeros(B), embedding=node)
        fn = _search._recurrent_fn(ENV, TINY, cfg)
        return gumbel_muzero(params, key, root, fn, 6, ~legal, max_num_considered_actions=4)

    t = tree(params, states, jax.random.key(5)).search_tree
    parents, actions = np.asarray(t.parents), np.asarray(t.action_from_parent)
    node_states = t.embeddings.state
    mask_fn = jax.vmap(jax.vmap(lambda s: _env.legal_action_mask(ENV, s, ASSISTANT)))
    masks = jax.jit(mask_fn)(node_states)
    masks = np.asarray(masks)
    deep = 0
    for b, n in zip(*np.nonzero(parents >= 0), strict=True):
        assert masks[b, parents[b, n], actions[b, n]], (b, n)
        deep += parents[b, n] > 0
    assert deep > 0  # some edges leave interior nodes, not only the root


def test_search_outputs_batched_jitted_and_legal() -> None:
    params = _params(TINY)
    states = _random_states(2)
    out = _search_fn(FAST, TINY, SEARCH)(params, states, jax.random.key(6))
    n_act = ENV.n_actions
    assert out.action.shape == (B,) and out.action.dtype == jnp.int32
    assert out.action_weights.shape == (B, n_act) and out.legal.shape == (B, n_act)
    assert out.value.shape == (B,) and out.root.goal_logits.shape == (B, 6, 6, 6, 10)
    mask_fn = jax.vmap(lambda s: _env.legal_action_mask(FAST, s, ASSISTANT))
    legal = np.asarray(jax.jit(mask_fn)(states))
    np.testing.assert_array_equal(np.asarray(out.legal), legal)
    assert legal[np.arange(B), np.asarray(out.action)].all()
    weights = np.asarray(out.action_weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert weights[~legal].max() == 0.0


def test_mismatched_goal_visibility_is_refused() -> None:
    with pytest.raises(AlignlabError, match="goal_visible"):
        make_search(ENV, TINY, SearchConfig(goal_visible=True))
    with pytest.raises(AlignlabError, match="goal_source"):
        make_search(ENV, TINY, SearchConfig(goal_source="oracle"))


# ---------------------------------------------------------------- goal blindness


def _other_goals(states: _env.State) -> _env.State:
    flipped = jnp.flip(states.goal, axis=0)  # another game's goal (a batch-mate's)
    assert not bool(jnp.all(flipped == states.goal))
    return states._replace(goal=flipped)


def test_outputs_do_not_depend_on_the_true_goal() -> None:
    """Every output, bit for bit (the oracle test below runs the root-belief variant)."""
    fn = _search_fn(FAST, TINY, SEARCH)
    states = _random_states(3)
    a = fn(_params(TINY), states, jax.random.key(7))
    b = fn(_params(TINY), _other_goals(states), jax.random.key(7))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_goal_visible_outputs_do_depend_on_the_goal() -> None:
    net = NetConfig(width=8, depth=1, block_embed=4, aux_embed=2, goal_visible=True)
    cfg = SearchConfig(num_simulations=6, max_num_considered_actions=4, goal_visible=True)
    fn = _search_fn(FAST, net, cfg)
    states = _random_states(3)
    a = fn(_params(net), states, jax.random.key(7))
    b = fn(_params(net), _other_goals(states), jax.random.key(7))
    assert not np.array_equal(np.asarray(a.root.goal_logits), np.asarray(b.root.goal_logits))
    assert not np.array_equal(np.asarray(a.action_weights), np.asarray(b.action_weights))


# ---------------------------------------------------------------- the Gumbel loop against mctx


def test_gumbel_loop_matches_mctx() -> None:
    """A toy problem with random priors, rewards and values (all drawn from the key and the
    action): ``gumbel_muzero`` gives ``mctx.gumbel_muzero_policy``'s tree and outputs."""
    b, n_act, sims, considered = 5, 13, 20, 4

    def recurrent(params: None, key: jax.Array, action: jax.Array, emb: jax.Array) -> tuple:
        k1, k2 = jax.random.split(key)
        out = mctx.RecurrentFnOutput(
            reward=jax.random.normal(k1, (b,)) + action / n_act,
            discount=jnp.where(action == 0, 0.0, 0.9),
            prior_logits=jax.random.normal(k2, (b, n_act)) + emb[:, :1],
            value=jnp.sin(action * 1.0 + emb[:, 0]),
        )
        return out, emb + action[:, None]

    invalid = jax.random.bernoulli(jax.random.key(8), 0.4, (b, n_act)).at[:, 0].set(False)
    root = mctx.RootFnOutput(
        prior_logits=jax.random.normal(jax.random.key(9), (b, n_act)),
        value=jnp.zeros(b),
        embedding=jnp.zeros((b, 2)),
    )
    kw = dict(max_num_considered_actions=considered)

    @jax.jit
    def both(key: jax.Array) -> tuple:
        ours = gumbel_muzero(None, key, root, recurrent, sims, invalid, **kw)
        theirs = mctx.gumbel_muzero_policy(
            None, key, root, recurrent, sims, invalid_actions=invalid, **kw
        )
        return ours, theirs

    ours, theirs = both(jax.random.key(10))
    for x, y in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# ---------------------------------------------------------------- an oracle network


@functools.cache
def _trivial_position() -> tuple[EnvConfig, _env.State, int, int]:
    """A 4×4×4 world, the goal = the reset world plus one cobblestone next to the assistant;
    returns the config, the state, that PLACE's id and the number of legal actions."""
    env = EnvConfig(size=(4, 4, 4), los="off")
    goal = np.zeros(env.size, np.uint8)
    goal[:, 0], goal[:, 1] = BEDROCK, DIRT
    state = jax.jit(functools.partial(_env.init, env))(jax.random.key(11), jnp.asarray(goal))
    ax, _, az = (int(v) for v in state.positions[ASSISTANT])
    target = (ax + 1 if ax < 3 else ax - 1, 2, az)
    goal[target] = COBBLESTONE
    state = state._replace(goal=jnp.asarray(goal))  # the goal never moves a player
    v = (target[0] * 4 + target[1]) * 4 + target[2]
    legal = np.asarray(jax.jit(_env.legal_action_mask, static_argnums=(0, 2))(env, state, 1))
    assert legal[place_offset(64) + v]  # PLACE(v, dirt) is legal: so is PLACE(v, cobblestone)
    return env, state, place_offset(64) + (COBBLESTONE - 2) * 64 + v, int(legal.sum())


def _oracle_apply(goal: jax.Array, env_cfg: EnvConfig, obs: jax.Array, belief: bool) -> NetOut:
    """Uniform policy, zero value, a human that only NOOPs, and (``belief``) goal logits that
    are ``goal``'s one-hot ×30, else uniform."""
    lead = obs.shape[:-4]
    n_act = env_cfg.n_actions
    human = jnp.full((*lead, n_act), -1e4).at[..., NOOP].set(0.0)
    g = jnp.broadcast_to(goal, (*lead, *goal.shape))
    goal_logits = 30.0 * jax.nn.one_hot(g, 10) if belief else jnp.zeros((*lead, *goal.shape, 10))
    return NetOut(jnp.zeros((*lead, n_act)), jnp.zeros(lead), goal_logits, human)


@pytest.mark.parametrize("visible", [False, True])
def test_oracle_network_search_finds_the_useful_place(
    monkeypatch: pytest.MonkeyPatch, visible: bool
) -> None:
    """Hidden goal: a network whose goal head knows the goal makes the search pick the one
    PLACE that raises similarity. Visible goal: the rewards come from the true goal, so the
    same search finds it with an uninformed goal head."""
    env, state, best, n_legal = _trivial_position()
    goal = state.goal
    fake = functools.partial(_oracle_apply, goal, env, belief=not visible)
    monkeypatch.setattr(_net, "apply", lambda net_cfg, env_cfg, params, obs: fake(obs))
    net = NetConfig(width=8, depth=1, goal_visible=visible)
    cfg = SearchConfig(
        num_simulations=n_legal + 8,
        max_num_considered_actions=n_legal,
        gumbel_scale=0.0,
        goal_visible=visible,
        goal_source="root",  # the same belief at every node here: either source would do
    )
    states = jax.tree.map(lambda x: x[None], state)
    out = jax.jit(functools.partial(_search.search, env, net, cfg))({}, states, jax.random.key(0))
    assert int(out.action[0]) == best
    assert int(jnp.argmax(out.action_weights[0])) == best
