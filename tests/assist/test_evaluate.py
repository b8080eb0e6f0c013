"""``alignlab assist evaluate``: assistants on the same goals and human seeds, the noop
reference, the saved share, a plugged-in assistant, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignlab.assist import _rollout
from alignlab.assist._evaluate import default_steps, evaluate, goal_set, saved_share
from alignlab.assist._layout import EnvConfig
from alignlab.assist._rollout import Assistant, check_assistant, load_assistant
from alignlab.cli import main
from alignlab.core import AlignlabError, read_jsonl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "assist" / "goals.json"

# An assistant that cheats (it reads state.goal): the heuristic builder, acting for the
# assistant. Test-only; it shows the plug-in path (a module that registers a loader) and a
# parametrised act (the human model's params travel as the assistant's params).
ORACLE_PLUGIN = """
import jax
import jax.numpy as jnp

from alignlab.assist import _env
from alignlab.assist._humans import HeuristicParams, heuristic_logits
from alignlab.assist._layout import ASSISTANT, OBS_GOAL_BLOCKS
from alignlab.assist._rollout import Assistant, register_assistant


def _act(cfg, params, carry, state, key):
    obs = _env.observe(cfg, state, ASSISTANT).at[OBS_GOAL_BLOCKS].set(state.goal)
    logits = heuristic_logits(params, key, obs, cfg, _env.observe_inventory(cfg, state, ASSISTANT))
    return jax.random.categorical(key, logits).astype(jnp.int32), carry + 1


def _load(cfg, checkpoint):
    beta = float(checkpoint) if checkpoint is not None else 5.0
    return Assistant("oracle", _act, HeuristicParams(beta=beta), carry=jnp.int32(0))


register_assistant("evaltest_oracle", _load, replace=True)
"""


@pytest.fixture
def oracle_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The module name of the oracle plugin, importable for this test only."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "evaltest_oracle_plugin.py").write_text(ORACLE_PLUGIN)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(_rollout, "_LOADERS", dict(_rollout._LOADERS))  # registrations undone
    monkeypatch.delitem(sys.modules, "evaltest_oracle_plugin", raising=False)
    yield "evaltest_oracle_plugin"  # type: ignore[misc]
    sys.modules.pop("evaltest_oracle_plugin", None)


def test_evaluate_noop_random_and_a_plugged_in_oracle(tmp_path: Path, oracle_plugin: str) -> None:
    out = tmp_path / "runs"
    argv = ["assist", "evaluate", "--plugins", oracle_plugin, "--assistants", "random",
            "evaltest_oracle", "--goals", "blob", "--episodes", "6", "--horizon", "40",
            "--n-boot", "200", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    run = next((out / "assist-evaluate").iterdir())
    rows = [r for _, r in read_jsonl(run / "records.jsonl")]
    by = {
        a: [r for r in rows if r["assistant"] == a] for a in ("noop", "random", "evaltest_oracle")
    }
    assert [len(v) for v in by.values()] == [6, 6, 6]  # noop plays as the reference, unasked
    for rs in by.values():  # the same goals and human keys for every assistant
        assert [(r["goal_hash"], r["key"], r["goal"]) for r in rs] == [
            (r["goal_hash"], r["key"], r["goal"]) for r in by["noop"]
        ]
    assert len({r["goal_hash"] for r in by["noop"]}) == 6
    m = json.loads((run / "metrics.json").read_text())
    assert m["reference"] == "noop" and list(m["assistants"]) == [
        "noop",
        "random",
        "evaltest_oracle",
    ]
    noop, rand, oracle = (m["assistants"][a] for a in ("noop", "random", "evaltest_oracle"))
    assert noop["human_actions_saved"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    assert rand["human_actions_saved"]["value"] < 0  # its wrong blocks make work for the human
    assert oracle["human_actions_saved"]["low"] > 0  # a builder takes work off the human
    assert oracle["goal_percentage@10"]["value"] > noop["goal_percentage@10"]["value"]
    human = np.array([r["human_actions"] for r in by["evaltest_oracle"]], float)
    alone = np.array([r["human_actions"] for r in by["noop"]], float)
    assert oracle["human_actions_saved"]["value"] == pytest.approx(1 - human.mean() / alone.mean())
    assert default_steps(40) == (10, 20, 30, 40) and "goal_percentage@30" in rows[0]
    assert noop["steps_to_completion"]["value"] == pytest.approx(
        np.mean([r["steps"] for r in by["noop"] if r["completed"]])
    )
    report = (run / "report.md").read_text()
    assert (
        all(f"| {a} |" in report for a in by) and (run / "plots" / "goal_percentage.png").is_file()
    )
    _check_episodes(run, by)


def _check_episodes(run: Path, by: dict[str, list[dict[str, Any]]]) -> None:
    """Episode 0 of each assistant replays the very episode of its record (same goal
    percentage, same return), and ``assist view`` opens it."""
    from alignlab.assist._reference import total_similarity
    from alignlab.assist._render import replay
    from alignlab.assist._viewer import load_episode

    for name, rs in by.items():
        path = run / "episodes" / f"{name}_ep0.json"
        ep = load_episode(path)
        assert len(ep["steps"]) == rs[0]["steps"] + 1 and ep["meta"]["assistant"] == name
        frames = replay(ep)
        goal = np.zeros(ep["size"], np.uint8)
        for x, y, z, b in ep["goal"]:
            goal[x, y, z] = b
        cfg = EnvConfig(size=tuple(ep["size"]))
        sim0, sim = (total_similarity(cfg, f, goal) for f in (frames[0], frames[-1]))
        assert (sim - sim0) / (goal.size - sim0) == pytest.approx(
            rs[0]["goal_percentage"], abs=1e-6
        )
        assert sum(s["reward"] for s in ep["steps"]) == pytest.approx(rs[0]["return"])
        assert (run / "episodes" / f"{name}_ep0.html").is_file()
    page = run / "view.html"
    assert main(["assist", "view", "--episode", str(path), "--out", str(page)]) == 0
    assert page.is_file()


def test_replay_from_records_equals_playing_again() -> None:
    """Rebuilding an episode from its recorded actions gives what playing it again gives."""
    import jax

    from alignlab.assist._goals import random_blob
    from alignlab.assist._humans import HeuristicParams
    from alignlab.assist._rollout import episode_fn, episode_replay, replay_recorded

    cfg = EnvConfig(size=(6, 6, 6), horizon=15)
    goals = np.stack([random_blob(cfg.size, np.random.default_rng(i)) for i in range(2)])
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    _, recs = episode_fn(cfg, "random")(keys, goals, HeuristicParams())
    first = {k: np.asarray(recs[k][1]) for k in ("actions", "live", "reward")}
    rebuilt = replay_recorded(cfg, "random", keys[1], goals[1], first)
    assert rebuilt == episode_replay(cfg, "random", keys[1], goals[1], HeuristicParams())


def test_entry_point_assistants_load_on_first_use(
    oracle_plugin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package offers an assistant through the ``alignlab.assistants`` group;
    it is listed, and imported only when named."""
    from importlib.metadata import EntryPoint

    ep = EntryPoint("evaltest_ep", f"{oracle_plugin}:_load", _rollout.ENTRY_POINT_GROUP)
    monkeypatch.setattr(_rollout, "_entry_points", lambda: [ep])
    assert "evaltest_ep" in _rollout.assistant_names()
    assert oracle_plugin not in sys.modules
    a = load_assistant("evaltest_ep:2.5", EnvConfig(size=(6, 6, 6), horizon=5))
    assert a.name == "evaltest_ep:2.5" and float(a.params.beta) == 2.5
    check_assistant(a, EnvConfig(size=(6, 6, 6), horizon=5))


def test_saved_share_is_paired() -> None:
    alone = np.array([10.0, 20, 30, 40])
    assert saved_share(alone, alone).as_dict() == {"value": 0.0, "low": 0.0, "high": 0.0}  # type: ignore[union-attr]
    half = saved_share(alone / 2, alone)
    assert half is not None and half.value == half.low == half.high == 0.5  # paired: no spread
    noisy = saved_share(np.array([5.0, 25, 10, 30]), alone)
    assert noisy is not None and noisy.low < noisy.value < noisy.high
    assert saved_share(alone, np.zeros(4)) is None


def test_goal_sets(tmp_path: Path) -> None:
    from alignlab.assist._goal_bank import build_goal_bank, save_goal_bank
    from alignlab.assist._houses import house

    first = goal_set("house", (6, 6, 6), 3, 1_000_000)
    np.testing.assert_array_equal(first.goals, build_goal_bank(house, 3, (6, 6, 6), 1_000_000))
    assert first.sources[2] == "house[1000000, 2]"
    files = goal_set(str(EXAMPLE), (6, 6, 6), 5, 0)  # cycled in file order
    assert files.sources == tuple(
        f"goals.json:{n}"
        for n in ("pillar", "wall_with_window", "l_shape", "pillar", "wall_with_window")
    )
    np.testing.assert_array_equal(files.goals[0], files.goals[3])
    save_goal_bank(tmp_path / "b.npz", build_goal_bank(house, 2, (6, 6, 6), 0), {"generator": "h"})
    bank = goal_set(str(tmp_path / "b.npz"), (6, 6, 6), 3, 0)
    np.testing.assert_array_equal(bank.goals[0], bank.goals[2])
    with pytest.raises(AlignlabError, match="pass --size 6 6 6"):
        goal_set(str(EXAMPLE), (7, 6, 6), 2, 0)


def test_registry_and_assistant_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax.numpy as jnp

    monkeypatch.setattr(_rollout, "_LOADERS", dict(_rollout._LOADERS))
    cfg = EnvConfig(size=(6, 6, 6), horizon=5)
    with pytest.raises(AlignlabError, match="already registered"):
        _rollout.register_assistant("noop", lambda c, p: load_assistant("noop", c))
    with pytest.raises(AlignlabError, match="no ':'"):
        _rollout.register_assistant("a:b", lambda c, p: load_assistant("noop", c))
    with pytest.raises(AlignlabError, match="unknown assistant 'alphago'; known: noop, random"):
        load_assistant("alphago:run/model", cfg)
    with pytest.raises(AlignlabError, match="takes no checkpoint"):
        load_assistant("random:x.npz", cfg)

    def float_act(cfg: Any, params: Any, carry: Any, state: Any, key: Any) -> Any:
        return jnp.float32(0), carry

    def growing_act(cfg: Any, params: Any, carry: Any, state: Any, key: Any) -> Any:
        return jnp.int32(0), jnp.zeros(carry.shape[0] + 1)

    with pytest.raises(AlignlabError, match="'f': act must return an int32"):
        check_assistant(Assistant("f", float_act), cfg)
    with pytest.raises(AlignlabError, match="same structure"):
        check_assistant(Assistant("g", growing_act, carry=jnp.zeros(3)), cfg)
    with pytest.raises(AlignlabError, match="listed twice"):
        evaluate(cfg, ["random", "random"], np.zeros((1, 6, 6, 6), np.uint8), seed=0)
    # one compilation per act: params are arguments of the compiled program
    a, b = (
        Assistant(n, _rollout._random_act, params=jnp.float32(p)) for n, p in (("a", 1), ("b", 2))
    )
    assert _rollout.episode_fn(cfg, a).func is _rollout.episode_fn(cfg, b).func  # type: ignore[attr-defined]


def _fails(argv: list[str], field: str, words: str, capsys: Any, out: Path) -> None:
    assert main(["assist", "evaluate", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"field '{field}'" in err[0] and words in err[0], err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv,field,words",
    [
        (["--episodes", "0"], "episodes", "--episodes must be >= 1"),
        (["--horizon", "0"], "horizon", "--horizon must be >= 1"),
        (["--seed", "-1"], "seed", "--seed must be in 0..2**63-1"),
        (["--assistants", "alphago"], "assistants", "unknown assistant 'alphago'"),
        (["--assistants"], "assistants", "at least one"),
        (["--assistants", "random", "random"], "assistants", "lists 'random' twice"),
        (["--assistants", "random:ckpt.npz"], "assistants", "takes no checkpoint"),
        (["--plugins", "no_such_module_here"], "plugins", "cannot import"),
        (["--goals", "missing.json"], "goals", "file not found"),
        (["--goals", "missing.npz"], "goals", "file not found"),
        (["--goals", "castle"], "goals", "unknown goals 'castle'"),
        (["--goals", str(EXAMPLE), "--size", "7", "6", "6"], "grid", "pass --size 6 6 6"),
        (["--at-steps", "0"], "at_steps", "--at-steps must lie in 1..100"),
        (["--horizon", "10", "--at-steps", "5", "11"], "at_steps", "not 11"),
        (["--size", "4", "6", "5"], "size", "too small"),
        (["--mistake-rate", "2"], "mistake_rate", "[0, 1]"),
        (["--n-boot", "10"], "n_boot", ">= 100"),
        (["--los", "x"], "los", "unknown --los"),
    ],
)
def test_bad_input_exits_2(
    argv: list[str], field: str, words: str, capsys: Any, tmp_path: Path
) -> None:
    _fails(argv, field, words, capsys, tmp_path / "runs")
