"""``judge init-model`` (a judge built from scratch, tokenizer trained on a bench) and
``judge sft`` (gold chains or verdicts, both orders): loss that falls, a loadable model, and a
run interrupted mid-way that resumes from its checkpoint without logging a step twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alignlab.cli import main
from alignlab.judge import Pair
from alignlab.models import load_vision_chat, tiny_vlm_processor


def _metric_rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def init_model(train_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("init") / "model"
    argv = ["judge", "init-model", "--pairs", str(train_bench), "--out", str(out), "--hidden",
            "32", "--layers", "1", "--vision-hidden", "16", "--vocab", "400"]  # fmt: skip
    assert main(argv) == 0
    return out


def test_init_model_tokenizer_fits_the_bench(init_model: Path, train_pairs: list[Pair]) -> None:
    chat = load_vision_chat(f"hf-vlm:{init_model}")
    assert chat.model.config.text_config.hidden_size == 32
    chain = train_pairs[0].metadata["gold_chain_text"]
    own = len(chat.processor.tokenizer(chain)["input_ids"])
    generic = len(tiny_vlm_processor().tokenizer(chain)["input_ids"])
    assert own < 0.8 * generic


def test_white_normalisation_maps_the_background_to_zero(train_bench: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    out = tmp_path / "m"
    argv = ["judge", "init-model", "--pairs", str(train_bench), "--out", str(out), "--hidden",
            "32", "--layers", "1", "--vision-hidden", "16", "--vocab", "400",
            "--normalise", "white"]  # fmt: skip
    assert main(argv) == 0
    proc = load_vision_chat(f"hf-vlm:{out}").processor
    white = Image.new("RGB", (56, 56), "white")
    red = Image.new("RGB", (56, 56), (255, 0, 0))
    pix = lambda im: np.asarray(proc.image_processor(images=[im])["pixel_values"])  # noqa: E731
    assert np.abs(pix(white)).max() < 1e-6
    assert pix(red).min() == pytest.approx(-2.0, abs=1e-3)


def test_init_model_refuses_to_overwrite(
    init_model: Path, train_bench: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["judge", "init-model", "--pairs", str(train_bench), "--out", str(init_model)]
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv[:-2], "--out", str(init_model.parent / "x"), "--hidden", "30"]) == 2
    assert "multiple of 8" in capsys.readouterr().err


def test_chain_sft_lowers_the_loss_and_writes_a_model(
    init_model: Path, train_bench: Path, tmp_path: Path
) -> None:
    argv = ["judge", "sft", "--pairs", str(train_bench), "--model", str(init_model),
            "--no-system", "--lora-rank", "0", "--steps", "12", "--batch-pairs", "2",
            "--lr", "1e-2", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    (run,) = (tmp_path / "judge-sft").iterdir()
    losses = [r["loss"] for r in _metric_rows(run) if "loss" in r]
    assert len(losses) == 12 and losses[-1] < losses[0] - 0.5, losses
    assert (run / "plots" / "sft_curves.png").is_file()
    assert "chain target" in (run / "report.md").read_text()
    chat = load_vision_chat(f"hf-vlm:{run / 'model'}")
    assert chat.model.config.text_config.hidden_size == 32


def test_chain_target_needs_a_bench_with_gold_chains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "pairs.jsonl"
    plain.write_text(json.dumps({"id": "a", "prompt": "p", "response_a": "x",
                                 "response_b": "y", "gold": "A"}) + "\n")  # fmt: skip
    argv = ["judge", "sft", "--pairs", str(plain), "--out", str(tmp_path / "runs")]
    assert main(argv) == 2
    assert "gold chain" in capsys.readouterr().err


def test_interrupted_sft_resumes_from_its_checkpoint(
    init_model: Path, train_bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import TrainerCallback

    class _Kill(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step == 3:
                raise KeyboardInterrupt

    argv = ["judge", "sft", "--pairs", str(train_bench), "--model", str(init_model),
            "--target", "verdict", "--lora-rank", "0", "--steps", "4", "--batch-pairs", "1",
            "--save-every", "2", "--out", str(tmp_path)]  # fmt: skip
    from trl import SFTTrainer

    class _Killing(SFTTrainer):  # type: ignore[misc]
        def __init__(self, *a: Any, callbacks: Any = None, **kw: Any) -> None:
            super().__init__(*a, callbacks=[*(callbacks or []), _Kill()], **kw)

    monkeypatch.setattr("trl.SFTTrainer", _Killing)
    assert main(argv) == 130  # as Ctrl-C ends a command
    (run,) = (tmp_path / "judge-sft").iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    assert (run / "checkpoints" / "checkpoint-2").is_dir()
    monkeypatch.setattr("trl.SFTTrainer", SFTTrainer)
    assert main(["judge", "sft", "--resume", str(run)]) == 0
    steps = [r["step"] for r in _metric_rows(run) if "loss" in r]
    assert steps == [1, 2, 3, 4]
    assert (run / "model" / "model.safetensors").is_file()
