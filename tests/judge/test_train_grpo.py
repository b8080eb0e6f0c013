"""``alignlab judge train``: GRPO through TRL on a tiny Qwen2.5-VL with two images per prompt —
whole pairs in every reward call, parameters that move, LoRA on the language model only, and
the command's run folder (reward curves, a loadable model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from alignlab.cli import main
from alignlab.judge import Pair
from alignlab.judge._train_cmd import TrainConfig, grpo_args, reward_functions
from alignlab.judge._train_common import peft_config
from alignlab.judge._train_rows import training_rows
from alignlab.models import tiny_qwen2_5_vl


def _trainer(rows: list[dict[str, Any]], cfg: TrainConfig, out: Path, reward: Any) -> Any:
    from datasets import Dataset
    from trl import GRPOTrainer

    model, proc = tiny_qwen2_5_vl(0)
    funcs, weights = reward_functions(cfg)
    return GRPOTrainer(
        model=model.train(),
        processing_class=proc,
        reward_funcs=[*funcs, reward],
        args=grpo_args(cfg, str(out), [*weights, 1.0]),
        train_dataset=Dataset.from_list(rows),
        peft_config=peft_config(cfg.lora_rank, cfg.lora_alpha, cfg.rslora),
    )


class _Recorder:
    """A reward with variance (a random model never writes a verdict, so the judge's rewards
    are all 0 and GRPO's advantages vanish) that records each call's rows."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str, int]]] = []

    def __call__(self, prompts: Any, completions: Any, **cols: Any) -> list[float]:
        self.calls.append(list(zip(cols["pair_id"], cols["order"], cols["n_images"], strict=True)))
        return [float(len(str(c)) % 5) for c in completions]


def test_every_reward_call_holds_whole_pairs_and_parameters_move(
    train_pairs: list[Pair], tmp_path: Path
) -> None:
    t2i = [p for p in train_pairs if p.task == "t2i"][:4]  # two images per prompt
    rows = training_rows(t2i)
    cfg = TrainConfig(steps=3, pairs_per_step=2, generations=2, max_completion=6,
                      lr=1e-2, lora_rank=0)  # fmt: skip
    rec = _Recorder()
    trainer = _trainer(rows, cfg, tmp_path, rec)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    assert len(rec.calls) == 3
    for call in rec.calls:
        assert len(call) == 2 * cfg.pairs_per_step * cfg.generations
        assert {n for _, _, n in call} == {2}
        ids = {pid for pid, _, _ in call}
        assert len(ids) == cfg.pairs_per_step
        for pid in ids:
            orders = [o for p, o, _ in call if p == pid]
            assert sorted(orders) == ["forward"] * 2 + ["reverse"] * 2
    # rows are taken in order: the first call judges the first two pairs
    assert {pid for pid, _, _ in rec.calls[0]} == {t2i[0].id, t2i[1].id}
    moved = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)]
    assert any("language_model" in n for n in moved)
    assert any("visual" in n for n in moved)


def test_lora_trains_adapters_of_the_language_model_only(
    train_pairs: list[Pair], tmp_path: Path
) -> None:
    rows = training_rows(train_pairs[:2])
    cfg = TrainConfig(steps=2, pairs_per_step=1, generations=2, max_completion=6,
                      lr=1e-2, lora_rank=4)  # fmt: skip
    trainer = _trainer(rows, cfg, tmp_path, _Recorder())
    named = dict(trainer.model.named_parameters())
    trainable = [n for n, p in named.items() if p.requires_grad]
    assert trainable and all("lora_" in n and "language_model" in n for n in trainable)
    before = {n: named[n].detach().clone() for n in named}
    trainer.train()
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)}
    assert changed and changed <= set(trainable)


def test_train_command_writes_reward_curves_and_a_loadable_model(
    train_bench: Path, tmp_path: Path
) -> None:
    argv = ["judge", "train", "--pairs", str(train_bench), "--model", "tiny-vlm", "--steps", "2",
            "--pairs-per-step", "1", "--generations", "2", "--max-completion", "8",
            "--lora-rank", "4", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    (run,) = (tmp_path / "judge-train").iterdir()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2]
    for name in ("judge_format", "judge_accuracy", "judge_consistency"):
        assert all(f"rewards/{name}/mean" in r for r in rows if "loss" in r)
    report = (run / "report.md").read_text()
    assert "Reward curves" in report and "0.3 × judge_consistency" in report
    assert (run / "plots" / "reward_curves.png").stat().st_size > 1000
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["reward_weights"] == {
        "judge_format": 0.2, "judge_accuracy": 0.5, "judge_consistency": 0.3
    }  # fmt: skip
    from alignlab.models import load_vision_chat

    chat = load_vision_chat(f"hf-vlm:{run / 'model'}")
    assert not any("lora" in n for n, _ in chat.model.named_parameters())  # merged


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--generations", "1"], "--generations"),
        (["--format-weight", "0", "--accuracy-weight", "0", "--consistency-weight", "0"], "weight"),
        (["--model", "gpt-4"], "--model"),
        (["--prompt", "essay"], "--prompt"),
        (["--lora-rank", "-1"], "--lora-rank"),
    ],
)
def test_bad_flags_exit_2_before_any_work(
    flags: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["judge", "train", "--out", str(tmp_path / "runs"), *flags]) == 2
    assert field in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
