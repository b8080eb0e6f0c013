"""``assist train-sft``: pretraining alone, SFT on a tiny goal-visible expert, the goal-masked
input, the trained assistant in ``assist evaluate``, resume, and flag errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignlab.assist._sft_cmd import SFTConfig
from alignlab.core import AlignlabError, read_metrics_log

# the smallest house grid: on 4x4x4 a blob goal is one voxel, nothing to learn across goals
TINY: dict[str, Any] = dict(
    size=(5, 6, 5),
    goals="house",
    bank_size=16,
    horizon=50,
    envs=8,
    pretrain_steps=2048,
    epochs=4,
    lr=3e-3,
    width=8,
    depth=1,
    batch_size=32,
)


@pytest.fixture(scope="module")
def expert(tiny_train: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny goal-visible ``assist train`` run on the smallest house grid."""
    from alignlab.assist._train import run_train
    from alignlab.assist._train_cmd import TrainConfig

    out = tmp_path_factory.mktemp("expert")
    grid = dict(size=(5, 6, 5), goals="house", horizon=20)
    cfg = TrainConfig(**{**tiny_train, **grid}, env_steps=8, goal_visible=True, out=str(out))
    return run_train(cfg)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alignlab.assist._sft_cmd import run_sft

    return run_sft(SFTConfig(**TINY, out=str(tmp_path_factory.mktemp("pre"))))


@pytest.fixture(scope="module")
def finetuned(expert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alignlab.assist._sft_cmd import run_sft

    out = str(tmp_path_factory.mktemp("sft"))
    return run_sft(SFTConfig(**TINY, expert=str(expert), sft_steps=128, out=out))


def _params(folder: Path) -> list[np.ndarray]:
    import jax

    from alignlab.assist._train import load_assistant

    return [np.asarray(x) for x in jax.tree.leaves(load_assistant(folder)[1])]


def test_pretraining_alone_beats_chance_on_held_out_goals(pretrained: Path) -> None:
    rows = read_metrics_log(pretrained / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert {r["stage"] for r in rows} == {"pretrain"}
    last = rows[-1]
    assert last["data/env_steps"] == 2048  # 8 games x 256 steps, all counted
    assert last["data/train_steps"] + last["data/val_steps"] == 2048
    assert last["val/accuracy"] > max(5 * last["val/chance"], last["val/majority"])
    assert json.loads((pretrained / "run.json").read_text())["status"] == "done"
    report = (pretrained / "report.md").read_text()
    assert "sft: not run" in report and "Simulated human: heuristic (β = 5.0" in report
    assert (pretrained / "plots" / "curves.png").is_file()
    # without an SFT stage the model is the pretrained network
    assert all(
        np.array_equal(a, b)
        for a, b in zip(_params(pretrained), _params(pretrained / "pretrained"), strict=True)
    )


def test_sft_stage_clones_the_expert(finetuned: Path, expert: Path) -> None:
    rows = read_metrics_log(finetuned / "metrics.jsonl")
    assert [(r["step"], r["stage"]) for r in rows] == [
        *((i, "pretrain") for i in (1, 2, 3, 4)),
        *((i, "sft") for i in (5, 6, 7, 8)),
    ]
    sft = [r for r in rows if r["stage"] == "sft"]
    assert sft[0]["data/env_steps"] == 128 and "val/accuracy_start" in sft[0]
    assert sft[-1]["loss/policy"] < sft[0]["loss/policy"]
    metrics = json.loads((finetuned / "metrics.json").read_text())
    assert metrics["env_steps"] == 2048 + 128
    assert str(expert) in (finetuned / "report.md").read_text()
    moved = [
        not np.array_equal(a, b)
        for a, b in zip(_params(finetuned), _params(finetuned / "pretrained"), strict=True)
    ]
    assert any(moved)


def test_builder_view_is_the_assistant_view_with_roles_swapped() -> None:
    import jax
    import jax.numpy as jnp

    from alignlab.assist import _env
    from alignlab.assist._goals import random_blob
    from alignlab.assist._layout import ASSISTANT, HUMAN, EnvConfig
    from alignlab.assist._net import assistant_input
    from alignlab.assist._sft import actor_view

    cfg = EnvConfig(size=(4, 4, 4), horizon=12)
    s = _env.init(cfg, jax.random.PRNGKey(3), random_blob(cfg.size, np.random.default_rng(0)))
    last = s.last_interacted.at[0, 0, 0].set(ASSISTANT).at[1, 1, 1].set(HUMAN)
    s = s._replace(last_interacted=last)
    swapped = s._replace(
        positions=s.positions[::-1],
        last_interacted=jnp.where(s.last_interacted >= 0, 1 - s.last_interacted, -1).astype(
            s.last_interacted.dtype
        ),
    )
    view_of = jax.jit(actor_view, static_argnums=(0, 2))
    view = view_of(cfg, s, HUMAN)
    assert np.array_equal(view, view_of(cfg, swapped, ASSISTANT))
    assert np.array_equal(view, assistant_input(cfg, swapped, False))
    assert not np.any(view[2:4])  # no goal


def test_the_goal_never_enters_the_policy(finetuned: Path, expert: Path, tmp_path: Path) -> None:
    import jax

    from alignlab.assist import _env
    from alignlab.assist._goals import random_blob
    from alignlab.assist._layout import ASSISTANT, EnvConfig
    from alignlab.assist._net import apply
    from alignlab.assist._sft import actor_view, load_sft
    from alignlab.assist._train import load_assistant

    cfg = EnvConfig(size=(5, 6, 5), horizon=50)
    a = load_sft(cfg, str(finetuned))
    net = load_assistant(finetuned)[0].net
    rng = np.random.default_rng(1)
    key = jax.random.PRNGKey(0)
    s1 = _env.init(cfg, key, random_blob(cfg.size, rng))
    s2 = s1._replace(goal=_env.init(cfg, key, random_blob(cfg.size, rng)).goal)
    assert not np.array_equal(s1.goal, s2.goal)
    policy = jax.jit(lambda s: apply(net, cfg, a.params, actor_view(cfg, s, ASSISTANT)))
    logits = [np.asarray(policy(s).policy_logits) for s in (s1, s2)]
    assert np.array_equal(logits[0], logits[1])
    act = jax.jit(a.act, static_argnums=0)
    acts = [int(act(cfg, a.params, a.carry, s, key)[0]) for s in (s1, s2)]
    assert acts[0] == acts[1] and bool(_env.legal_action_mask(cfg, s1, ASSISTANT)[acts[0]])
    # a goal-visible network saved as an SFT model would read the goal
    from alignlab.core import latest_checkpoint, load_checkpoint, save_checkpoint

    last = latest_checkpoint(expert / "model")
    assert last is not None
    ck = load_checkpoint(last)
    save_checkpoint(tmp_path / "model", 1, ck.tree, {**ck.meta, "trainer": "train-sft"})
    with pytest.raises(AlignlabError, match="goal-visible"):
        load_sft(cfg, str(tmp_path / "model"))


def test_sft_assistant_plays_in_evaluate(finetuned: Path, tmp_path: Path) -> None:
    from alignlab.cli import main

    spec = f"sft:{finetuned}"
    args = ["assist", "evaluate", "--assistants", "noop", spec, "--goals", "house"]
    args += ["--horizon", "12", "--episodes", "2", "--n-boot", "100", "--out", str(tmp_path)]
    assert main([*args, "--size", "5", "6", "5"]) == 0
    run = next((tmp_path / "assist-evaluate").iterdir())
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    assert {r["assistant"] for r in rows} == {"noop", spec}
    assert main([*args, "--size", "6", "6", "6"]) == 2  # another grid: refused


def test_resume_after_a_kill_reaches_the_same_model(finetuned: Path, tmp_path: Path) -> None:
    from alignlab.assist._sft_cmd import run_sft
    from alignlab.assist._sft_run import CHECKPOINT_DIR, MODEL_DIR
    from alignlab.core import latest_checkpoint

    run = tmp_path / "run"
    shutil.copytree(finetuned, run)
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, "status": "running"}))  # as kill -9 leaves
    last = latest_checkpoint(run / CHECKPOINT_DIR)
    assert last is not None and last.name.endswith("8.npz")
    last.unlink()  # the last epoch's checkpoint never made it
    shutil.rmtree(run / MODEL_DIR)
    assert run_sft(SFTConfig(resume=str(run))) == run
    assert [r["step"] for r in read_metrics_log(run / "metrics.jsonl")] == list(range(1, 9))
    for a, b in zip(_params(run), _params(finetuned), strict=True):
        np.testing.assert_array_equal(a, b)  # data and shuffles are replayed from the seed


def _goal_masked_train_model(expert: Path, folder: Path) -> Path:
    """An ``assist train`` model like ``expert``'s but goal-masked (fresh weights)."""
    import dataclasses

    import jax

    from alignlab.assist._model_files import config_dict, read_model
    from alignlab.assist._net import init_params
    from alignlab.core import save_checkpoint

    model = read_model(expert)
    net = dataclasses.replace(model.net, goal_visible=False)
    params = init_params(net, model.env, jax.random.PRNGKey(0))
    save_checkpoint(folder, 1, params, {**model.meta, "net": config_dict(net)})
    return folder


def test_an_expert_that_is_not_goal_visible_is_refused(
    pretrained: Path, expert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alignlab.cli import main

    args = ["assist", "train-sft", "--size", "5", "6", "5", "--bank-size", "16"]
    masked = _goal_masked_train_model(expert, tmp_path / "masked")
    assert main([*args, "--expert", str(masked), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not goal-visible" in err[0] and "expert" in err[0]
    # a train-sft run is not an expert: the error names the trainer that wrote it
    assert main([*args, "--expert", str(pretrained), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'assist train-sft'" in err[0] and "expert" in err[0]
    assert main([*args, "--expert", str(tmp_path / "nothing"), "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "assist-train-sft").exists()  # nothing started


def test_a_run_of_another_trainer_is_refused_naming_it(
    pretrained: Path, expert: Path, tmp_path: Path
) -> None:
    """``sft:`` and ``azero:`` each play their own trainer's models; a model saved before
    the ``trainer`` key existed still plays as before."""
    from alignlab.assist._assistants import load_azero
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._sft import load_sft
    from alignlab.core import latest_checkpoint, load_checkpoint, save_checkpoint

    cfg = EnvConfig(size=(5, 6, 5), horizon=20)
    with pytest.raises(AlignlabError) as err:
        load_azero(cfg, str(pretrained))
    assert "'assist train-sft'" in str(err.value) and "sft:RUN" in str(err.value)
    with pytest.raises(AlignlabError) as err:
        load_sft(cfg, str(expert))
    assert "'assist train'" in str(err.value) and "azero:RUN" in str(err.value)
    last = latest_checkpoint(expert / "model")
    assert last is not None
    ck = load_checkpoint(last)
    assert ck.meta["trainer"] == "train"
    old = tmp_path / "model"
    save_checkpoint(old, ck.step, ck.tree, {k: v for k, v in ck.meta.items() if k != "trainer"})
    assert load_azero(cfg, str(old)).name == "goal-visible"


@pytest.mark.parametrize(
    "flags",
    [
        ["--envs", "1"],
        ["--bank-size", "1"],
        ["--epochs", "0"],
        ["--pretrain-steps", "0"],
        ["--kernel", "2"],
        ["--lr", "0"],
        ["--goal-weight", "-1"],
        ["--sft-steps", "100"],  # no --expert: nothing would read it
        ["--seed", "1000000"],
        ["--goals", "castle"],
        ["--size", "4", "4"],
    ],
)
def test_bad_flags_exit_2(flags: list[str], tmp_path: Path) -> None:
    from alignlab.cli import main

    assert main(["assist", "train-sft", *flags, "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())
