"""The simulated human as a pluggable model (``_human_model``): the heuristic by default, a
behaviour-cloned one with ``--human bc:PATH`` in self-play, the baselines and evaluation.

One tiny BC human (4×4×4, a few recorded blob episodes, one epoch) serves every test."""

from __future__ import annotations

import json
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from alignlab.assist._layout import EnvConfig  # noqa: E402
from alignlab.cli import main  # noqa: E402
from alignlab.core import AlignlabError  # noqa: E402

CFG = EnvConfig(size=(4, 4, 4), horizon=12)
GRID = ["--size", "4", "4", "4", "--goals", "blob", "--horizon", "12"]


@pytest.fixture(scope="module")
def bc_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``main``: a BC human for ``CFG``; ``twin``: another one (other seed) for that grid;
    ``other``: the first one's weights saved for a 5×4×4 grid."""
    from alignlab.assist._bc import record_heuristic, save_bc, train_bc

    folder = tmp_path_factory.mktemp("bc")
    data = record_heuristic(CFG, 4, seed=0, goals="blob")
    files = {}
    for name, seed in (("main", 0), ("twin", 1)):
        params, _ = train_bc(data, CFG, epochs=1, batch_size=16, channels=4, layers=1, seed=seed)
        files[name] = folder / f"{name}.npz"
        save_bc(files[name], params, CFG)
        if name == "main":
            files["other"] = folder / "other.npz"
            save_bc(files["other"], params, EnvConfig(size=(5, 4, 4), horizon=12))
    return files


def _states(n: int, seed: int = 0) -> Any:
    import jax

    from alignlab.assist import _env
    from alignlab.assist._goal_bank import build_goal_bank
    from alignlab.assist._goals import random_blob

    goals = build_goal_bank(random_blob, n, CFG.size, seed)
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    return jax.vmap(lambda k, g: _env._init(CFG, k, g))(keys, goals)


def _human_probs(kind: Any, params: Any, states: Any) -> np.ndarray:
    import functools

    import jax

    from alignlab.assist._human_model import state_logits

    fn = jax.vmap(functools.partial(state_logits, kind, CFG), in_axes=(None, None, 0))
    return np.exp(np.asarray(jax.jit(fn)(params, jax.random.PRNGKey(0), states)))


def test_bc_logits_are_masked_to_legal_actions(bc_files: dict[str, Path]) -> None:
    import jax

    from alignlab.assist import _env
    from alignlab.assist._bc import bc_logits
    from alignlab.assist._human_model import BC_KIND, load_human
    from alignlab.assist._layout import HUMAN

    human = load_human(f"bc:{bc_files['main']}", CFG)
    assert human.name == f"bc:{bc_files['main']}" and human.kind == BC_KIND and human.masked
    states = _states(3)
    probs = _human_probs(human.kind, human.params, states)
    legal = np.asarray(jax.vmap(lambda s: _env.legal_action_mask(CFG, s, HUMAN))(states))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    assert np.all(probs[~legal] == 0.0) and np.all(probs[legal] > 0.0)
    obs = jax.vmap(lambda s: _env.observe(CFG, s, HUMAN))(states)
    raw = np.asarray(bc_logits(human.params, obs, CFG))
    want = np.where(legal, np.exp(raw - raw.max(-1, keepdims=True)), 0.0)
    np.testing.assert_allclose(probs, want / want.sum(-1, keepdims=True), rtol=1e-4, atol=1e-7)


def test_heuristic_is_the_default_and_played_unchanged() -> None:
    import jax

    from alignlab.assist import _env
    from alignlab.assist._evaluate_cmd import EvaluateConfig
    from alignlab.assist._human_model import HEURISTIC_KIND, load_human
    from alignlab.assist._humans import HeuristicParams, heuristic_logits
    from alignlab.assist._layout import HUMAN
    from alignlab.assist._ppo_cmd import PPOConfig
    from alignlab.assist._rollout_cmd import RolloutConfig
    from alignlab.assist._sft_cmd import SFTConfig
    from alignlab.assist._train_cmd import TrainConfig

    for config in (TrainConfig, PPOConfig, SFTConfig, EvaluateConfig, RolloutConfig):
        assert config().human == "heuristic"
    human = load_human("heuristic", CFG, beta=3.0, mistake_rate=0.1)
    assert human.kind == HEURISTIC_KIND and not human.masked
    assert human.params == HeuristicParams(3.0, 0.1)
    states = _states(2)
    got = _human_probs(human.kind, human.params, states)
    obs = jax.vmap(lambda s: _env.observe(CFG, s, HUMAN))(states)
    want = jax.vmap(lambda o: heuristic_logits(human.params, None, o, CFG))(obs)
    np.testing.assert_array_equal(got, np.exp(np.asarray(want)))


def test_bc_params_are_arguments_not_constants(bc_files: dict[str, Path]) -> None:
    """Two BC files share one compiled data collector, and each plays its own weights."""
    import jax

    from alignlab.assist._human_model import load_human
    from alignlab.assist._sft import make_collect, start_games

    a, b = (load_human(f"bc:{bc_files[k]}", CFG) for k in ("main", "twin"))
    collect_a = make_collect(CFG, "pretrain", 6, human=a)
    collect_b = make_collect(CFG, "pretrain", 6, human=b)
    assert collect_a.func is collect_b.func  # type: ignore[attr-defined]
    bank = _states(4).goal
    lo, n = jax.numpy.zeros(3, "int32"), jax.numpy.full(3, 4, "int32")
    games = start_games(CFG, jax.random.PRNGKey(0), lo, n, bank)
    key = jax.random.PRNGKey(1)
    acts_a = np.asarray(collect_a(games, bank, key, None)[1].action)
    acts_b = np.asarray(collect_b(games, bank, key, None)[1].action)
    assert not np.array_equal(acts_a, acts_b)


@pytest.mark.slow  # a training run with its resume (~20 s): the slow tier
def test_train_plays_the_bc_human_in_self_play(
    bc_files: dict[str, Path], tiny_train_argv: list[str], tmp_path: Path
) -> None:
    import jax

    from alignlab.assist._human_model import BC_KIND, HEURISTIC_KIND, load_human
    from alignlab.assist._humans import HeuristicParams
    from alignlab.assist._train import CHECKPOINT_DIR, fresh_state, setup, training_goals
    from alignlab.assist._train_cmd import TrainConfig
    from alignlab.core import latest_checkpoint, load_checkpoint, resumed_config

    spec = f"bc:{bc_files['main']}"
    argv = ["assist", "train", *tiny_train_argv, "--env-steps", "16", "--human", spec]
    assert main([*argv, "--pretrain-steps", "8", "--out", str(tmp_path)]) == 0
    run = next((tmp_path / "assist-train").iterdir())
    assert json.loads((run / "config.json").read_text())["human"] == spec
    assert f"Simulated human: behaviour-cloned ({spec})" in (run / "report.md").read_text()
    cfg = resumed_config(TrainConfig(), run)
    s = setup(cfg)
    like = fresh_state(cfg, s, jax.numpy.asarray(training_goals(cfg, s.env)))
    last = latest_checkpoint(run / CHECKPOINT_DIR)
    assert last is not None
    replay = load_checkpoint(last, like=like).tree["replay"]
    n = int(replay.size)
    assert n == 16
    states = jax.tree.map(lambda x: x[:n], replay.data.state)
    stored = np.asarray(replay.data.human[:n], np.float32)
    bc = _human_probs(BC_KIND, load_human(spec, CFG).params, states)
    np.testing.assert_allclose(stored, bc, atol=2e-3)  # float16 targets
    heuristic = _human_probs(HEURISTIC_KIND, HeuristicParams(), states)
    assert np.abs(stored - heuristic).max() > 0.1  # not the heuristic's distribution
    # the human is fixed for the run: resuming with another one is refused
    twin = ["assist", "train", "--resume", str(run), "--human", f"bc:{bc_files['twin']}"]
    assert main([*twin, "--env-steps", "24"]) == 2


@pytest.mark.slow
def test_ray_workers_play_the_bc_human(
    bc_files: dict[str, Path], tiny_train: dict[str, Any], tmp_path: Path
) -> None:
    """A self-play worker loads the BC human itself from the run's config."""
    import jax
    import ray

    from alignlab.assist._human_model import BC_KIND, load_human
    from alignlab.assist._net import init_params
    from alignlab.assist._train import setup
    from alignlab.assist._train_cmd import TrainConfig
    from alignlab.assist._workers import WorkerPool

    spec = f"bc:{bc_files['main']}"
    cfg = TrainConfig(**tiny_train, human=spec, workers=1, out=str(tmp_path))
    s = setup(cfg)
    try:
        pool = WorkerPool(1, cfg)
        items, _, live = pool.play(
            init_params(s.net, s.env, jax.random.PRNGKey(0)), jax.random.PRNGKey(1)
        )
        pool.close()
    finally:
        ray.shutdown()
    assert live == 1 and items.human.shape == (8, CFG.n_actions)
    bc = _human_probs(BC_KIND, load_human(spec, CFG).params, items.state)
    np.testing.assert_allclose(np.asarray(items.human, np.float32), bc, atol=2e-3)


def test_evaluate_and_rollout_name_the_bc_human(bc_files: dict[str, Path], tmp_path: Path) -> None:
    spec = f"bc:{bc_files['main']}"
    argv = ["assist", "evaluate", "--assistants", "noop", "--human", spec, *GRID]
    assert main([*argv, "--episodes", "2", "--out", str(tmp_path)]) == 0
    run = next((tmp_path / "assist-evaluate").iterdir())
    report = (run / "report.md").read_text()
    assert f"human: behaviour-cloned ({spec})" in report and "heuristic (β" not in report
    argv = ["assist", "rollout", "--human", spec, *GRID, "--episodes", "2"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    run = next((tmp_path / "assist-rollout").iterdir())
    assert f"human: behaviour-cloned ({spec})" in (run / "report.md").read_text()
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["steps"] >= 1 for r in rows)


@pytest.mark.parametrize("verb", ["evaluate", "train", "train-ppo", "train-sft"])
def test_bc_human_of_another_grid_is_one_clear_error(
    verb: str,
    bc_files: dict[str, Path],
    tiny_train_argv: list[str],
    tmp_path: Path,
    capsys: Any,
) -> None:
    flags = {
        "evaluate": [*GRID, "--episodes", "1"],
        "train": [*tiny_train_argv, "--env-steps", "16"],
        "train-ppo": [*GRID, "--envs", "2", "--rollout", "2", "--minibatches", "1"],
        "train-sft": [*GRID, "--envs", "2", "--bank-size", "8"],
    }[verb]
    argv = ["assist", verb, *flags, "--human", f"bc:{bc_files['other']}"]
    assert main([*argv, "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(bc_files["other"]) in err[0] and "field 'human'" in err[0] and "5×4×4" in err[0]
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_bad_human_flags(bc_files: dict[str, Path], tmp_path: Path) -> None:
    from alignlab.assist._evaluate_cmd import EvaluateConfig
    from alignlab.assist._human_model import load_human
    from alignlab.assist._ppo_cmd import PPOConfig
    from alignlab.assist._rollout_cmd import RolloutConfig
    from alignlab.assist._sft_cmd import SFTConfig
    from alignlab.assist._train_cmd import TrainConfig

    spec = f"bc:{bc_files['main']}"
    for config in (TrainConfig, PPOConfig, SFTConfig, EvaluateConfig, RolloutConfig):
        with pytest.raises(AlignlabError) as err:
            config(human="oracle")  # type: ignore[call-arg]
        assert err.value.field == "human" and "heuristic or bc:PATH" in str(err.value)
        with pytest.raises(AlignlabError) as err:
            config(human=f"bc:{tmp_path / 'missing.npz'}")  # type: ignore[call-arg]
        assert err.value.field == "human" and err.value.file == str(tmp_path / "missing.npz")
    with pytest.raises(AlignlabError) as err:
        EvaluateConfig(human=spec, beta=2.0)
    assert err.value.field == "beta" and "behaviour-cloned" in str(err.value)
    with pytest.raises(AlignlabError) as err:
        RolloutConfig(human=spec, mistake_rate=0.1)
    assert err.value.field == "mistake_rate"
    with pytest.raises(AlignlabError) as err:
        load_human(spec, EnvConfig(size=(4, 4, 4), finite_inventory=True))
    assert err.value.field == "human" and "inventor" in str(err.value)
    not_bc = tmp_path / "not_bc.npz"
    np.savez(not_bc, x=np.zeros(2))
    with pytest.raises(AlignlabError) as err:
        load_human(f"bc:{not_bc}", CFG)
    assert err.value.field == "human" and err.value.file == str(not_bc)
