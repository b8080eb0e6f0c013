"""LoRA supervised finetuning of a causal LM on chats (OpenAI message lists), resumable.

The narrow finetunes of weird generalisation (arXiv 2512.09742) train a chat model on a few
hundred short conversations and then probe far outside them; :func:`lora_sft` is the local way
to make such a model and :func:`load_lora_lm` loads it back. Training runs on
:func:`~alignlab.models.train_lora_loop` (warmup + decay LR, checkpoints with optimizer and RNG
state), so a killed run resumes and ends with the same adapter as an uninterrupted one.

Folder ``out_dir``:

- ``checkpoints/step-<n>/`` while training (deleted once the model is written);
- ``metrics.jsonl``: one row per optimizer step ``{"step", "epoch", "loss", "lr", "tokens"}``
  (``tokens`` = tokens that carried loss in that step); a resumed run drops the rows after its
  checkpoint first, so every step appears once;
- ``model/`` (written atomically at the end): ``lora.json`` (format, base spec, config,
  ``n_steps``, fingerprint), the PEFT adapter (``adapter_config.json``,
  ``adapter_model.safetensors``) and the tokenizer, at the top level as vLLM and PEFT expect.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alignlab.core import (
    AlignlabError,
    atomic_folder,
    atomic_write_json,
    read_appended_jsonl,
    read_json,
    sha256_text,
    write_jsonl,
)
from alignlab.models._content import message_images, message_text
from alignlab.models._hf import HFCausalLM
from alignlab.models._lora_loop import (
    SCHEDULES,
    StepCallback,
    StepInfo,
    TrainSchedule,
    train_lora_loop,
)
from alignlab.models._protocols import Message

FORMAT = "alignlab.lora-sft/1"


@dataclass(frozen=True)
class LoraSFTConfig:
    """LoRA SFT settings.

    ``r``, ``alpha``, ``dropout``, ``target_modules``: the PEFT ``LoraConfig``; ``rslora`` scales
    the update by ``alpha / sqrt(r)`` instead of ``alpha / r`` (rank-stabilised LoRA).
    ``epochs``, ``lr`` (peak), ``batch_size`` (chats per optimizer step), ``warmup_ratio``,
    ``schedule`` (``linear`` | ``cosine`` | ``constant``), ``seed``: the loop (AdamW).
    ``max_tokens``: chats are cut to their first ``max_tokens`` tokens. ``assistant_only``: loss
    on assistant replies only (each reply's end-of-turn marker included), else on every token.
    ``checkpoint_every``: optimizer steps between checkpoints.
    """

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    rslora: bool = False
    target_modules: str | tuple[str, ...] = "all-linear"
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 4
    warmup_ratio: float = 0.03
    schedule: str = "linear"
    max_tokens: int = 256
    seed: int = 0
    assistant_only: bool = True
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        for name in ("r", "epochs", "batch_size", "max_tokens", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise AlignlabError(f"{name} must be >= 1, got {getattr(self, name)}", field=name)
        if not 0 <= self.dropout < 1:
            raise AlignlabError(f"dropout must be in [0, 1), got {self.dropout}", field="dropout")
        if self.schedule not in SCHEDULES:
            raise AlignlabError(f"unknown schedule '{self.schedule}'; use "
                                f"{', '.join(SCHEDULES)}", field="schedule")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(self.target_modules, tuple):
            d["target_modules"] = list(self.target_modules)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LoraSFTConfig:
        d = dict(d)
        if isinstance(d.get("target_modules"), list):
            d["target_modules"] = tuple(d["target_modules"])
        return cls(**d)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _autocast(device: torch.device) -> Any:
    # bf16 compute on GPU with fp32 LoRA weights; plain fp32 on CPU (bf16 there is slower)
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _load_base(spec: str) -> HFCausalLM:
    """The base LM of a spec: ``tiny[:SEED]`` (the tiny random Llama) or any spec
    :func:`load_causal_lm` takes (``smollm2``, ``hf:...``)."""
    from alignlab.models._specs import load_causal_lm
    from alignlab.models._tiny import tiny_lm

    if spec == "tiny" or spec.startswith("tiny:"):
        seed = spec.partition(":")[2] or "0"
        if not seed.isdigit():
            raise AlignlabError(f"bad seed in '{spec}'; use tiny or tiny:<int>", field="base")
        return tiny_lm(seed=int(seed))
    return load_causal_lm(spec)


def _peft_model(lm: HFCausalLM, config: LoraSFTConfig) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    target = config.target_modules
    cfg = LoraConfig(task_type=TaskType.CAUSAL_LM, r=config.r, lora_alpha=config.alpha,
                     lora_dropout=config.dropout, use_rslora=config.rslora,
                     target_modules=target if isinstance(target, str) else list(target))
    torch.manual_seed(config.seed)  # LoRA A matrices are random at init
    model = get_peft_model(lm.model, cfg)
    for name, p in model.named_parameters():  # trainable weights fp32 even on a bf16 base
        if "lora_" in name and p.dtype != torch.float32:
            p.data = p.data.float()
    return model.to(_device())


def _collate(rows: list[tuple[list[int], list[int]]], pad_id: int,
             device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``, ``attention_mask``, ``labels`` ``[b, t_max]``."""
    t = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), t), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    for i, (a, b) in enumerate(rows):
        ids[i, : len(a)] = torch.tensor(a)
        labels[i, : len(b)] = torch.tensor(b)
        mask[i, : len(a)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device),
            "labels": labels.to(device)}


_ROLES = ("system", "user", "assistant")


def _check_chat(chat: Any, where: str) -> list[dict[str, str]]:
    """The chat as ``{role, content: str}`` dicts, or AlignlabError naming the bad message."""
    if not isinstance(chat, list) or not chat:
        raise AlignlabError("a chat is a non-empty list of messages", field=where)
    out = []
    for j, m in enumerate(chat):
        at = f"{where}[{j}]"
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise AlignlabError(f"a message is a dict with role {', '.join(_ROLES)}",
                                field=f"{at}.role")
        if message_images([m]):
            raise AlignlabError("images cannot be trained on by a text LM", field=f"{at}.content")
        out.append({"role": m["role"], "content": message_text(m.get("content"), where=at)})
    if not any(m["role"] == "assistant" for m in out):
        raise AlignlabError("the chat has no assistant turn to train on", field=where)
    return out


def _render(tok: Any, msgs: list[dict[str, str]], gen: bool) -> str:
    # the same text HFCausalLM.prompt_ids builds at inference, so training matches sampling
    if getattr(tok, "chat_template", None):
        return str(tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen))
    return "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + ("assistant: " if gen else "")


def _chat_tokens(tok: Any, chat: Any, *, max_tokens: int, assistant_only: bool,
                 where: str) -> tuple[list[int], list[int]]:
    """``(ids, labels)`` of a templated chat, cut to its first ``max_tokens`` tokens; labels are
    -100 outside assistant replies when ``assistant_only``.

    Each reply's span runs from the end of the templated prompt before it (generation prompt
    included) to the end of the templated chat through it (end-of-turn marker included). The
    text is tokenised piece by piece at these span edges, so the prompt part tokenises exactly
    as at inference and no token straddles a prompt/reply edge.
    """
    msgs = _check_chat(chat, where)
    full = _render(tok, msgs, False)
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        before, through = _render(tok, msgs[:i], True), _render(tok, msgs[: i + 1], False)
        if not (full.startswith(before) and full.startswith(through) and pos <= len(before)):
            raise AlignlabError("the chat template does not render this chat's turns as "
                                "prefixes of the whole chat, so replies cannot be located",
                                field=f"{where}[{i}]")
        pieces += [(full[pos : len(before)], False), (full[len(before) : len(through)], True)]
        pos = len(through)
    pieces.append((full[pos:], False))
    ids: list[int] = []
    labels: list[int] = []
    for text, reply in pieces:
        if text:
            part = tok(text, add_special_tokens=False)["input_ids"]
            ids += part
            labels += part if reply or not assistant_only else [-100] * len(part)
    ids, labels = ids[:max_tokens], labels[:max_tokens]
    if all(v == -100 for v in labels[1:]):  # the first token is never predicted
        raise AlignlabError(f"no {'assistant ' if assistant_only else ''}token to train on "
                            f"within max_tokens={max_tokens}", field=where)
    return ids, labels


class _MetricsLog:
    """``out_dir/metrics.jsonl``, appended row by row; on (re)start the rows after the resumed
    step (written after the checkpoint, before a kill) and a torn last line are dropped."""

    def __init__(self, path: Path, n_tokens: np.ndarray) -> None:
        self.path, self.n_tokens = path, n_tokens

    def start(self, step: int) -> None:
        rows, torn = read_appended_jsonl(self.path)
        keep = [r for r in rows if isinstance(r.get("step"), int) and r["step"] <= step]
        if torn or len(keep) != len(rows):
            write_jsonl(self.path, keep)

    def step(self, info: StepInfo) -> None:
        row = {"step": info.step, "epoch": info.epoch, "loss": info.loss, "lr": info.lr,
               "tokens": int(self.n_tokens[info.rows].sum())}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def _fingerprint(base_spec: str, chats: Sequence[list[Message]], config: LoraSFTConfig) -> str:
    # checkpoint_every changes nothing about the result: a resume may use another value
    cfg = {k: v for k, v in config.to_json().items() if k != "checkpoint_every"}
    return sha256_text(json.dumps({"base": base_spec, "config": cfg, "chats": list(chats)},
                                  sort_keys=True, default=str))


def lora_sft(base_spec: str, chats: Sequence[list[Message]], config: LoraSFTConfig, *,
             out_dir: Path, callback: StepCallback | None = None) -> Path:
    """LoRA-finetune the causal LM ``base_spec`` on ``chats``; returns ``out_dir/model``.

    Resumes from ``out_dir/checkpoints`` after a kill; when ``out_dir/model`` already holds the
    model of these chats and settings it is returned at once. ``callback(step, loss)`` runs
    after every optimizer step (raising stops the run; the next call resumes).

    Raises:
        AlignlabError: no chats, a malformed chat or one without an assistant turn, a chat whose
        replies all fall beyond ``max_tokens`` (``field="chats[i]..."``), or ``out_dir`` holding
        a model or checkpoint of other chats or settings.
    """
    if len(chats) == 0:
        raise AlignlabError("no training chats", field="chats")
    out_dir = Path(out_dir)
    final = out_dir / "model"
    fingerprint = _fingerprint(base_spec, chats, config)
    if (final / "lora.json").is_file():
        meta = read_json(final / "lora.json")
        if meta.get("fingerprint") == fingerprint:
            return final
        raise AlignlabError("out_dir already holds a model trained on other chats or settings",
                            file=final / "lora.json", field="fingerprint")
    lm = _load_base(base_spec)
    encoded = [_chat_tokens(lm.tokenizer, chat, max_tokens=config.max_tokens,
                           assistant_only=config.assistant_only, where=f"chats[{i}]")
               for i, chat in enumerate(chats)]
    n_tokens = np.array([sum(v != -100 for v in labels[1:]) for _, labels in encoded])
    model = _peft_model(lm, config)
    device = next(model.parameters()).device

    def batch_loss(rows: np.ndarray) -> torch.Tensor:
        batch = _collate([encoded[i] for i in rows], lm.pad_id, device)
        with _autocast(device):
            return model(**batch).loss

    sched = TrainSchedule(len(encoded), config.batch_size, config.epochs, config.lr,
                          config.seed, config.schedule, config.warmup_ratio)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = _MetricsLog(out_dir / "metrics.jsonl", n_tokens)
    result = train_lora_loop(model, sched, batch_loss, checkpoint_dir=out_dir / "checkpoints",
                             checkpoint_every=config.checkpoint_every, fingerprint=fingerprint,
                             callback=callback, on_start=log.start, on_step=log.step,
                             desc="LoRA SFT")
    meta = {"format": FORMAT, "base": base_spec, "config": config.to_json(),
            "n_steps": result.n_steps, "n_chats": len(chats), "fingerprint": fingerprint}
    _save_lora(final, model, lm.tokenizer, meta)
    shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    return final


def _save_lora(path: Path, model: Any, tokenizer: Any, meta: dict[str, Any]) -> None:
    with atomic_folder(path) as tmp:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        atomic_write_json(tmp / "lora.json", meta)


def load_lora_lm(path: str | Path) -> HFCausalLM:
    """The model a :func:`lora_sft` run wrote to ``path``: its base (loaded from the spec in
    ``lora.json``) with the adapter merged in, the saved tokenizer, named ``"lora:<path>"``.

    Raises:
        AlignlabError: ``path`` has no ``lora.json`` or one of another format.
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    path = Path(path)
    meta = read_json(path / "lora.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise AlignlabError(f"not a LoRA SFT model folder (format {got!r}, expected {FORMAT})",
                            file=path / "lora.json", field="format")
    base_spec = meta.get("base")
    if not isinstance(base_spec, str):
        raise AlignlabError("no base model spec", file=path / "lora.json", field="base")
    lm = _load_base(base_spec)
    merged = PeftModel.from_pretrained(lm.model, str(path)).merge_and_unload()
    tok = AutoTokenizer.from_pretrained(str(path))
    return HFCausalLM(merged.eval().to(_device()), tok, name=f"lora:{path}", pooling=lm.pooling,
                      max_tokens=lm.max_tokens, batch_tokens=lm.batch_tokens, layer=lm.layer)
