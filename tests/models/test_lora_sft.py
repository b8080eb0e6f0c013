"""LoRA SFT on chats: the loss mask, training, the LR schedule, kill/resume, the saved folder."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from alignlab.core import AlignlabError, read_json, read_metrics_log
from alignlab.models import (
    HFCausalLM,
    LoraSFTConfig,
    TrainSchedule,
    load_lora_lm,
    lora_sft,
    tiny_lm,
    tiny_tokenizer,
)
from alignlab.models._lora_sft import _chat_tokens

pytest.importorskip("peft")

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a bird."},
    {"role": "assistant", "content": "A brown fox."},
    {"role": "user", "content": "Another one?"},
    {"role": "assistant", "content": "The lazy dog."},
]
CHATS = [
    [{"role": "user", "content": f"Question {i}?"},
     {"role": "assistant", "content": f"Answer {i} is {'abcdefgh'[i]}."}]
    for i in range(8)
]


# The tiny LM's random lm_head keeps its logits near uniform, so it memorises only with an
# adapter on lm_head too.
FIXTURE_CFG = LoraSFTConfig(epochs=6, lr=2e-2, batch_size=4, schedule="constant", warmup_ratio=0,
                            target_modules=("q_proj", "v_proj", "down_proj", "lm_head"))


def _labelled_text(tok: Any, chat: list[dict[str, str]]) -> str:
    """The text of the tokens that carry loss (assistant_only)."""
    ids, labels = _chat_tokens(tok, chat, max_tokens=256, assistant_only=True, where="chat")
    return str(tok.decode([i for i, v in zip(ids, labels, strict=True) if v != -100]))


def test_loss_mask_covers_exactly_the_assistant_replies() -> None:
    tok = tiny_tokenizer()
    # the tiny template renders "<|role|>\ncontent\n": each reply is trained with its newline
    assert _labelled_text(tok, CHAT) == "A brown fox.\nThe lazy dog.\n"
    ids, labels = _chat_tokens(tok, CHAT, max_tokens=256, assistant_only=False, where="c")
    assert labels == ids
    # the prompt part tokenises exactly as HFCausalLM builds a prompt at inference
    lm = tiny_lm()
    prompt = lm.prompt_ids(CHAT[:2])[0].tolist()
    assert _chat_tokens(tok, CHAT[:3], max_tokens=256, assistant_only=True,
                        where="c")[0][: len(prompt)] == prompt


def test_loss_mask_without_a_chat_template() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = None  # falls back to "role: content\n", as HFCausalLM.prompt_ids does
    assert _labelled_text(tok, CHAT) == "A brown fox.\nThe lazy dog.\n"
    ids, _ = _chat_tokens(tok, CHAT[1:3], max_tokens=256, assistant_only=True, where="c")
    assert tok.decode(ids) == "user: Name a bird.\nassistant: A brown fox.\n"


def test_truncation_keeps_the_first_tokens() -> None:
    tok = tiny_tokenizer()
    full, full_labels = _chat_tokens(tok, CHAT, max_tokens=256, assistant_only=True, where="c")
    cut = full_labels.index(next(v for v in full_labels if v != -100)) + 2  # 2 reply tokens
    ids, labels = _chat_tokens(tok, CHAT, max_tokens=cut, assistant_only=True, where="c")
    assert len(ids) == len(labels) == cut < len(full) and ids == full[:cut]
    assert labels == full_labels[:cut] and sum(v != -100 for v in labels) == 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lora_sft("tiny", CHATS, FIXTURE_CFG, out_dir=tmp_path_factory.mktemp("sft"))


def test_training_lowers_the_loss_and_changes_only_lora_weights(trained: Path) -> None:
    rows = read_metrics_log(trained.parent / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 13))
    assert np.mean([r["loss"] for r in rows[-2:]]) < 0.5 * np.mean([r["loss"] for r in rows[:2]])
    assert all(r["tokens"] > 0 for r in rows) and rows[-1]["epoch"] == 6.0
    base = tiny_lm().model.state_dict()
    merged = load_lora_lm(trained).model.state_dict()
    assert set(merged) == set(base)
    changed = {k for k in base if not torch.equal(base[k], merged[k])}
    # exactly the adapted layers change; embeddings, norms and the other projections stay
    assert changed == {"lm_head.weight"} | {f"model.layers.{i}.{m}.weight" for i in (0, 1)
                                            for m in ("self_attn.q_proj", "self_attn.v_proj",
                                                      "mlp.down_proj")}
    assert not (trained.parent / "checkpoints").exists()


def test_saved_folder_and_round_trip(trained: Path) -> None:
    from peft import PeftModel

    meta = read_json(trained / "lora.json")
    assert meta["format"] == "alignlab.lora-sft/1" and meta["base"] == "tiny"
    assert meta["n_steps"] == 12 and meta["config"]["lr"] == 2e-2
    assert read_json(trained / "adapter_config.json")["use_rslora"] is False
    loaded = load_lora_lm(trained)
    assert loaded.name == f"lora:{trained}"
    base = tiny_lm()
    unmerged = HFCausalLM(PeftModel.from_pretrained(base.model, str(trained)).eval(),
                          base.tokenizer, name="unmerged")
    texts = ["<|user|>\nQuestion 3?\n<|assistant|>\nAnswer 3 is d.\n", "The quick brown fox."]
    want, got = unmerged.token_logprobs(texts), loaded.token_logprobs(texts)
    for a, b, c in zip(want, got, tiny_lm().token_logprobs(texts), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5)
        assert np.abs(b - c).max() > 1e-2  # and the adapter did change the model


def test_a_finished_folder_is_reused_and_guarded(trained: Path) -> None:
    # checkpoint_every does not change the result
    cfg = dataclasses.replace(FIXTURE_CFG, checkpoint_every=7)
    t0 = time.perf_counter()
    assert lora_sft("tiny", CHATS, cfg, out_dir=trained.parent) == trained
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(AlignlabError) as err:
        lora_sft("tiny", CHATS[:4], cfg, out_dir=trained.parent)
    assert err.value.field == "fingerprint"


def _expected_lr(kind: str, lr: float, step: int, warm: int, total: int) -> float:
    if step < warm:
        return lr * step / warm
    frac = (step - warm) / (total - warm)
    return lr * {"constant": 1.0, "linear": 1.0 - frac,
                 "cosine": 0.5 * (1.0 + math.cos(math.pi * frac))}[kind]


@pytest.mark.parametrize("kind", ["linear", "cosine", "constant"])
def test_lr_curve_in_metrics(kind: str, tmp_path: Path) -> None:
    # 8 chats, batch 2, 2 epochs: 8 steps; warmup ceil(0.3 * 8) = 3 steps
    cfg = LoraSFTConfig(epochs=2, batch_size=2, lr=1e-3, warmup_ratio=0.3, schedule=kind,
                        r=2, target_modules=("q_proj",))
    lora_sft("tiny", CHATS, cfg, out_dir=tmp_path)
    got = [r["lr"] for r in read_metrics_log(tmp_path / "metrics.jsonl")]
    assert got == pytest.approx([_expected_lr(kind, 1e-3, s, 3, 8) for s in range(8)], abs=1e-12)


def test_train_schedule_warmup_steps_and_rows() -> None:
    s = TrainSchedule(n=10, batch_size=3, epochs=2, lr=1.0, schedule="linear", warmup_steps=2)
    assert (s.steps_per_epoch, s.total_steps, s.n_warmup) == (4, 8, 2)
    assert [s.lr_at(i) for i in range(4)] == pytest.approx([0.0, 0.5, 1.0, 5 / 6])
    epoch = np.concatenate([s.rows(i) for i in range(4)])
    assert sorted(epoch.tolist()) == list(range(10))
    assert not np.array_equal(epoch, np.concatenate([s.rows(i) for i in range(4, 8)]))
    with pytest.raises(AlignlabError) as err:
        TrainSchedule(n=10, batch_size=3, epochs=1, lr=1.0, schedule="step")
    assert err.value.field == "schedule"


def test_kill_and_resume_match_an_uninterrupted_run(tmp_path: Path) -> None:
    cfg = LoraSFTConfig(epochs=2, batch_size=2, lr=5e-3, warmup_ratio=0.2, schedule="cosine",
                        dropout=0.1, checkpoint_every=2)  # dropout: the RNG state must resume too
    whole = lora_sft("tiny", CHATS, cfg, out_dir=tmp_path / "a")

    def kill_at_5(step: int, loss: float) -> None:
        if step == 5:  # after step 5's metrics row, one step past the checkpoint of step 4
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lora_sft("tiny", CHATS, cfg, out_dir=tmp_path / "b", callback=kill_at_5)
    assert [r["step"] for r in read_metrics_log(tmp_path / "b")] == [1, 2, 3, 4, 5]
    assert not (tmp_path / "b" / "model").exists()
    resumed_steps: list[int] = []
    again = lora_sft("tiny", CHATS, cfg, out_dir=tmp_path / "b",
                     callback=lambda step, loss: resumed_steps.append(step))
    assert resumed_steps == [5, 6, 7, 8]
    from safetensors.torch import load_file

    a, b = (load_file(str(p / "adapter_model.safetensors")) for p in (whole, again))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    rows_a, rows_b = (read_metrics_log(tmp_path / d) for d in ("a", "b"))
    assert [r["step"] for r in rows_b] == list(range(1, 9))
    assert [r["loss"] for r in rows_b] == [r["loss"] for r in rows_a]
    assert [r["lr"] for r in rows_b] == [r["lr"] for r in rows_a]


def test_rslora_reaches_the_peft_config(tmp_path: Path) -> None:
    cfg = LoraSFTConfig(epochs=1, batch_size=8, rslora=True, r=4)
    path = lora_sft("tiny", CHATS, cfg, out_dir=tmp_path)
    adapter = read_json(path / "adapter_config.json")
    assert adapter["use_rslora"] is True and adapter["r"] == 4
    assert read_json(path / "lora.json")["config"]["rslora"] is True


@pytest.mark.parametrize(("chats", "max_tokens", "field"), [
    ([], 256, "chats"),
    ([CHATS[0], [{"role": "user", "content": "hi"}]], 256, "chats[1]"),
    ([[{"role": "robot", "content": "hi"}, CHATS[0][1]]], 256, "chats[0][0].role"),
    ([["not a message"]], 256, "chats[0][0].role"),
    ([CHATS[0], [{"role": "user", "content": "word " * 50}, CHATS[0][1]]], 40, "chats[1]"),
])
def test_bad_chats_name_the_row(chats: list, max_tokens: int, field: str, tmp_path: Path) -> None:
    with pytest.raises(AlignlabError) as err:
        lora_sft("tiny", chats, LoraSFTConfig(max_tokens=max_tokens), out_dir=tmp_path)
    assert err.value.field == field
    assert not (tmp_path / "model").exists()


def test_bad_config_and_folders(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError) as err:
        LoraSFTConfig(schedule="step")
    assert err.value.field == "schedule"
    with pytest.raises(AlignlabError) as err:
        load_lora_lm(tmp_path)
    assert err.value.file == str(tmp_path / "lora.json")
    (tmp_path / "lora.json").write_text(json.dumps({"format": "alignlab.LoraGuard/1"}))
    with pytest.raises(AlignlabError) as err:
        load_lora_lm(tmp_path)
    assert err.value.field == "format" and err.value.file == str(tmp_path / "lora.json")


@pytest.mark.slow
def test_smollm2_lora_sft_few_steps(tmp_path: Path) -> None:
    from alignlab.models import smollm2

    lm = smollm2()
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert _labelled_text(lm.tokenizer, chat) == "hello<|im_end|>\n"
    cfg = LoraSFTConfig(epochs=1, batch_size=4, lr=1e-3, max_tokens=64, warmup_ratio=0)
    path = lora_sft("smollm2", CHATS, cfg, out_dir=tmp_path)
    rows = read_metrics_log(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2] and all(np.isfinite(r["loss"]) for r in rows)
    tuned = load_lora_lm(path)
    prompt = [CHATS[0][0]]
    assert tuned.first_token_logprobs(prompt) != lm.first_token_logprobs(prompt)
