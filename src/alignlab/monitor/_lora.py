"""LoRA-finetuned monitors: MOOD's guard and its finetuned causal LM, with checkpointed training.

- :class:`LoraGuard`: base LM + LoRA + a trained 2-way head, fitted on the restricted training
  set; ``unsafe_score`` = P(unsafe); its last-layer hidden states feed MOOD's Mahalanobis detector.
- :func:`finetune_causal_lm`: LoRA-finetunes a causal LM on the training texts (MOOD's perplexity
  detector).

Both train with :func:`alignlab.models.train_lora_loop` (AdamW, constant LR, seeded shuffles);
with ``checkpoint_dir`` a killed fit resumes, losing at most ``checkpoint_every`` steps, and ends
with the same weights as an uninterrupted one.

Real models are slow on CPU (SmolLM2-135M: 1.5-9 minutes per epoch of 100 texts of 96 tokens
on 2 busy cores, see :func:`finetune_causal_lm`). A GPU is used when present: the frozen base
may be bf16, LoRA and head weights stay fp32, forward passes run under bf16 autocast.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from alignlab.core import (
    AlignlabError,
    atomic_folder,
    atomic_write_json,
    read_json,
    sha256_text,
    track,
)
from alignlab.models import StepCallback, TrainSchedule, train_lora_loop

if TYPE_CHECKING:
    from alignlab.models import HFCausalLM

_FORMAT = "alignlab.LoraGuard/1"
_HEAD_NAMES = ("score", "classifier")


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _autocast(device: torch.device) -> Any:
    # bf16 compute on GPU with fp32 trainable weights; plain fp32 on CPU (bf16 there is slower).
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _load_base(base: str | Callable[[], tuple[Any, Any]], seed: int) -> tuple[Any, Any]:
    """``(AutoModelForSequenceClassification with 2 labels, tokenizer)`` for a base spec."""
    torch.manual_seed(seed)  # a fresh head's init is then reproducible
    if callable(base):
        model, tok = base()
    elif base == "tiny":
        from alignlab.models import tiny_seq_classifier_model, tiny_tokenizer

        tok = tiny_tokenizer()
        # seed 0 always: the base stands in for pretrained weights, the same in fit and load
        model = tiny_seq_classifier_model(tok, num_labels=2, seed=0)
    elif base == "smollm2":
        model, tok = _smollm2_classifier()
    elif base == "minilm":
        model, tok = _minilm_classifier()
    elif base.startswith("hf:"):
        model, tok = _from_pretrained(base[3:], base)
    else:
        raise AlignlabError(f"unknown guard base '{base}'; use 'tiny', 'minilm', 'smollm2', "
                            "'hf:<model id or path>' or a callable returning (model, tokenizer)",
                            field="base")
    if tok.pad_token_id is None:  # decoder LMs often ship without one; batching needs it
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    tok.truncation_side = "left"  # keep the end of long conversations: the reply being judged
    return model, tok


def _smollm2_classifier() -> tuple[Any, Any]:
    """The bundled SmolLM2 body under a fresh 2-way head. Built from the causal LM rather than
    loaded from its fp32 folder: that folder stores the tied embedding once, as
    ``lm_head.weight``, which a sequence-classifier load would miss (random embeddings)."""
    from transformers import AutoModelForSequenceClassification

    from alignlab.models import smollm2

    lm = smollm2()
    config = copy.deepcopy(lm.model.config)
    config.num_labels = 2
    model = AutoModelForSequenceClassification.from_config(config)
    setattr(model, model.base_model_prefix, lm.model.base_model)
    if torch.cuda.is_available():
        model = model.to(torch.bfloat16)
    return model, lm.tokenizer


def _minilm_classifier() -> tuple[Any, Any]:
    """The bundled all-MiniLM-L6-v2 encoder (22.7M) under a fresh 2-way head: the guard that
    fine-tunes in minutes on two CPU cores."""
    from transformers import AutoModelForSequenceClassification

    from alignlab.models import minilm

    enc = minilm()
    config = copy.deepcopy(enc.model.config)
    config.num_labels = 2
    model = AutoModelForSequenceClassification.from_config(config)
    setattr(model, model.base_model_prefix, enc.model)
    return model, enc.tokenizer


def _from_pretrained(src: str, spec: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from alignlab.models import hub_client_offline, hub_kwargs, hub_load_error

    hub = hub_kwargs(src)  # local cache only when the hub cannot be reached: no minute of retries
    kw: dict[str, Any] = {"num_labels": 2, **hub}
    if torch.cuda.is_available():
        kw["dtype"] = torch.bfloat16  # frozen base in bf16; trainable weights are made fp32
    try:
        with hub_client_offline(bool(hub)):
            tok = AutoTokenizer.from_pretrained(src, **hub)
            model = AutoModelForSequenceClassification.from_pretrained(src, **kw)
    except Exception as err:  # noqa: BLE001 - transformers raises OSError/ValueError/hub errors
        raise hub_load_error(spec, Path(src).expanduser(), err, unreachable=bool(hub)) from err
    return model, tok


def _head_name(model: Any) -> str:
    for name in _HEAD_NAMES:
        if isinstance(getattr(model, name, None), torch.nn.Module):
            return name
    raise AlignlabError(f"{type(model).__name__} has no classification head named "
                        f"{' or '.join(_HEAD_NAMES)}", field="base")


def _adapter_fp32(model: Any) -> None:
    """Keep LoRA and head weights in fp32 even when the frozen base is bf16 (GPU)."""
    for name, p in model.named_parameters():
        if ("lora_" in name or "modules_to_save" in name) and p.dtype != torch.float32:
            p.data = p.data.float()


class LoraGuard:
    """MOOD's guard: a sequence classifier, base LM + LoRA + a trained 2-way head.

    Args:
        base: ``"tiny"`` (a random tiny Llama, for tests), ``"minilm"`` (the bundled
            all-MiniLM-L6-v2 encoder, the CPU-sized guard), ``"smollm2"`` (the bundled
            SmolLM2-135M-Instruct, fp32), ``"hf:<model id or local path>"``, or a callable
            returning ``(AutoModelForSequenceClassification with num_labels=2, tokenizer)``
            (then :meth:`load` needs it again).
        r, alpha, dropout, target_modules: the PEFT ``LoraConfig`` (task ``SEQ_CLS``); the head is
            trained in full (``modules_to_save``).
        epochs, lr, batch_size, seed: the training loop (AdamW, seeded shuffles, class-balanced
            cross-entropy).
        max_tokens: texts are truncated to their *last* ``max_tokens`` tokens.

    Fitted attributes: ``model_`` (the PEFT model, eval mode), ``tokenizer_``, ``n_steps_``
    (optimizer steps of the whole fit), ``resumed_from_step_``, ``losses_`` (per step of this
    call). Runs on the GPU when one is present.
    """

    _PARAMS = ("base", "r", "alpha", "dropout", "epochs", "lr", "batch_size", "max_tokens",
               "seed", "target_modules")

    def __init__(self, base: str | Callable[[], tuple[Any, Any]] = "tiny", r: int = 8,
                 alpha: int = 16, dropout: float = 0.05, epochs: int = 1, lr: float = 2e-4,
                 batch_size: int = 8, max_tokens: int = 256, seed: int = 0,
                 target_modules: str | list[str] = "all-linear") -> None:
        self.base, self.r, self.alpha, self.dropout = base, r, alpha, dropout
        self.epochs, self.lr, self.batch_size, self.max_tokens = epochs, lr, batch_size, max_tokens
        self.seed, self.target_modules = seed, target_modules

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn style)."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def _build(self) -> tuple[Any, Any]:
        from peft import LoraConfig, TaskType, get_peft_model

        model, tok = _load_base(self.base, self.seed)
        cfg = LoraConfig(task_type=TaskType.SEQ_CLS, r=self.r, lora_alpha=self.alpha,
                         lora_dropout=self.dropout, target_modules=self.target_modules,
                         modules_to_save=[_head_name(model)])
        torch.manual_seed(self.seed)  # LoRA A matrices are random at init
        peft_model = get_peft_model(model, cfg)
        _adapter_fp32(peft_model)
        return peft_model.to(_device()), tok

    def _encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer_(list(texts), padding=True, truncation=True,
                              max_length=self.max_tokens, return_tensors="pt")
        device = next(self.model_.parameters()).device
        return {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def fit(self, texts: Sequence[str], y: Sequence[int] | np.ndarray, *,
            checkpoint_dir: str | Path | None = None, checkpoint_every: int = 50,
            callback: StepCallback | None = None) -> LoraGuard:
        """Train on ``texts`` with labels ``y`` (1 = unsafe); returns self.

        With ``checkpoint_dir``, resumes from the newest checkpoint there (same data and settings
        only) and checkpoints every ``checkpoint_every`` steps and at the end.
        """
        labels = np.asarray(y)
        if len(labels) != len(texts) or not np.isin(labels, (0, 1)).all():
            raise AlignlabError("y must hold one 0/1 label per text", field="y")
        counts = np.bincount(labels.astype(np.int64), minlength=2)
        if counts.min() == 0:
            raise AlignlabError("training data needs both safe (0) and unsafe (1) rows",
                                field="y")
        self.model_, self.tokenizer_ = self._build()
        device = next(self.model_.parameters()).device
        # Class-balanced: each class carries half of the loss however rare it is.
        weight = torch.tensor(len(labels) / (2.0 * counts), dtype=torch.float32, device=device)
        target = torch.as_tensor(labels, dtype=torch.long, device=device)

        def batch_loss(rows: np.ndarray) -> torch.Tensor:
            enc = self._encode([texts[i] for i in rows])
            with _autocast(device):
                logits = self.model_(**enc).logits
            return torch.nn.functional.cross_entropy(logits.float(), target[rows], weight=weight)

        params = {k: v for k, v in self.get_params().items() if not callable(v)}
        sched = TrainSchedule(len(texts), self.batch_size, self.epochs, self.lr, self.seed)
        result = train_lora_loop(
            self.model_, sched, batch_loss, checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every, fingerprint=_fingerprint(texts, labels, params),
            callback=callback, desc="guard fit")
        self.n_steps_, self.resumed_from_step_ = result.n_steps, result.resumed_from
        self.losses_ = result.losses
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise AlignlabError("LoraGuard is not fitted; call fit() or LoraGuard.load()")

    def unsafe_score(self, texts: Sequence[str]) -> np.ndarray:
        """``[n] float64`` P(unsafe) per text (softmax over the head's 2 logits)."""
        self._check_fitted()
        out = np.empty(len(texts), dtype=np.float64)
        device = next(self.model_.parameters()).device
        with torch.inference_mode(), _autocast(device):
            for rows in track(_length_batches(texts, self.batch_size), desc="guard score"):
                logits = self.model_(**self._encode([texts[i] for i in rows])).logits
                out[rows] = torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
        return out

    def hidden_states(self, texts: Sequence[str], pooling: str = "last") -> np.ndarray:
        """``[n, d] float32`` last-layer hidden states of the fine-tuned model.

        ``pooling``: ``"last"`` (the last real token, what MOOD's Mahalanobis uses), ``"mean"``
        or ``"max"`` over real tokens.
        """
        self._check_fitted()
        if pooling not in ("last", "mean", "max"):
            raise AlignlabError(f"unknown pooling '{pooling}'; use last, mean or max",
                                field="pooling")
        out = np.empty((len(texts), self.model_.config.hidden_size), dtype=np.float32)
        device = next(self.model_.parameters()).device
        with torch.inference_mode(), _autocast(device):
            for rows in track(_length_batches(texts, self.batch_size), desc="guard states"):
                enc = self._encode([texts[i] for i in rows])
                h = self.model_(**enc, output_hidden_states=True).hidden_states[-1].float()
                out[rows] = _pool(h, enc["attention_mask"], pooling)
        return out

    def save(self, path: str | Path) -> None:
        """Write adapter + head (PEFT format), tokenizer and settings to folder ``path``
        (replaced atomically)."""
        self._check_fitted()
        params = self.get_params()
        if callable(params["base"]):
            params["base"] = None  # LoraGuard.load(path, base=...) supplies it again
        with atomic_folder(Path(path)) as tmp:
            self.model_.save_pretrained(str(tmp / "adapter"))
            self.tokenizer_.save_pretrained(str(tmp / "tokenizer"))
            atomic_write_json(tmp / "guard.json", {"format": _FORMAT, "params": params,
                                                   "n_steps": self.n_steps_})

    @classmethod
    def load(cls, path: str | Path, *, base: str | Callable[[], tuple[Any, Any]] | None = None
             ) -> LoraGuard:
        """A fitted guard from a folder written by :meth:`save` (``base`` overrides the saved
        base spec; required when the guard was built from a callable)."""
        from peft import PeftModel
        from transformers import AutoTokenizer

        path = Path(path)
        meta = read_json(path / "guard.json")
        if meta.get("format") != _FORMAT:
            raise AlignlabError(f"not a saved LoraGuard (format {meta.get('format')!r})",
                                file=path / "guard.json", field="format")
        params = dict(meta["params"])
        if base is not None:
            params["base"] = base
        if params["base"] is None:
            raise AlignlabError("this guard was built from a callable base; pass base=",
                                file=path / "guard.json", field="base")
        guard = cls(**params)
        model, _ = _load_base(guard.base, guard.seed)
        peft_model = PeftModel.from_pretrained(model, str(path / "adapter"))
        _adapter_fp32(peft_model)
        guard.model_ = peft_model.to(_device()).eval()
        guard.tokenizer_ = AutoTokenizer.from_pretrained(str(path / "tokenizer"))
        guard.tokenizer_.truncation_side = "left"
        guard.n_steps_ = int(meta.get("n_steps", 0))
        guard.resumed_from_step_, guard.losses_ = 0, []
        return guard


def _fingerprint(texts: Sequence[str], y: Sequence[int] | np.ndarray | None,
                 params: dict[str, Any]) -> str:
    """What a checkpoint must match to be resumed: the data and the settings."""
    payload = json.dumps({"texts": list(texts), "y": None if y is None else [int(v) for v in y],
                          "params": params}, sort_keys=True, default=str)
    return sha256_text(payload)


def _length_batches(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
    # Similar lengths share a batch, so little compute goes to padding.
    order = np.argsort([len(t) for t in texts], kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _pool(h: torch.Tensor, mask: torch.Tensor, pooling: str) -> np.ndarray:
    """``[b, d]``: each row of ``h [b, t, d]`` pooled over positions with ``mask == 1``."""
    m = mask.bool()
    if pooling == "last":  # works for left and right padding alike
        last = mask.shape[1] - 1 - m.flip(1).int().argmax(1)
        v = h[torch.arange(h.shape[0], device=h.device), last]
    elif pooling == "mean":
        v = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
    else:
        v = h.masked_fill(~m.unsqueeze(-1), float("-inf")).amax(1)
    return v.cpu().numpy()


def finetune_causal_lm(lm: HFCausalLM, texts: Sequence[str], *, r: int = 8, alpha: int = 16,
                       epochs: int = 1, lr: float = 2e-4, batch_size: int = 4,
                       max_tokens: int = 256, seed: int = 0, dropout: float = 0.05,
                       target_modules: str | list[str] = "all-linear",
                       checkpoint_dir: str | Path | None = None, checkpoint_every: int = 50,
                       callback: StepCallback | None = None) -> HFCausalLM:
    """LoRA-finetune ``lm`` on ``texts`` (next-token loss on every real token), for MOOD's
    perplexity detector; returns a new :class:`HFCausalLM` (same tokenizer, pooling and
    batching) whose ``features()`` / ``token_logprobs()`` use the finetuned weights.

    ``lm`` is left untouched: its model is deep-copied before LoRA layers are injected. The
    returned wrapper holds that copy with the LoRA layers in place (what
    ``PeftModel.get_base_model()`` returns), so the features code sees a plain transformers model;
    it is named ``"<lm.name>+lora-<hash>"`` so feature caches keyed by name never mix the two.

    Slow on CPU for real models. Measured: SmolLM2-135M, 100 texts of 96 tokens, 1 epoch, batch 4
    (25 steps; NLL 6.32 → 4.11) on a busy 2-core machine: 80 s with one torch thread, 526 s with
    the default two (the threads fight other processes for the cores). Checkpointing works as
    in :meth:`LoraGuard.fit`.
    """
    from peft import LoraConfig, TaskType, get_peft_model

    from alignlab.models import HFCausalLM

    if len(texts) == 0:
        raise AlignlabError("no training texts", field="texts")
    device = lm.device
    model = copy.deepcopy(lm.model)
    cfg = LoraConfig(task_type=TaskType.CAUSAL_LM, r=r, lora_alpha=alpha, lora_dropout=dropout,
                     target_modules=target_modules)
    torch.manual_seed(seed)
    peft_model = get_peft_model(model, cfg)
    _adapter_fp32(peft_model)
    tok = lm.tokenizer
    if tok.pad_token_id is None:  # batching needs one; pad as the wrapper does, on a copy
        tok = copy.deepcopy(tok)
        tok.pad_token_id = lm.pad_id

    def batch_loss(rows: np.ndarray) -> torch.Tensor:
        enc = tok([texts[i] for i in rows], padding=True, truncation=True,
                  max_length=max_tokens, return_tensors="pt")
        ids = enc["input_ids"].to(device)
        mask = enc["attention_mask"].to(device)
        labels = ids.masked_fill(mask == 0, -100)  # padding carries no loss
        with _autocast(device):
            return peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss

    params = {"lm": lm.name, "r": r, "alpha": alpha, "epochs": epochs, "lr": lr,
              "batch_size": batch_size, "max_tokens": max_tokens, "seed": seed,
              "dropout": dropout, "target_modules": target_modules}
    fingerprint = _fingerprint(texts, None, params)
    sched = TrainSchedule(len(texts), batch_size, epochs, lr, seed)
    train_lora_loop(peft_model, sched, batch_loss, checkpoint_dir=checkpoint_dir,
                    checkpoint_every=checkpoint_every, fingerprint=fingerprint,
                    callback=callback, desc="causal LM finetune")
    return HFCausalLM(peft_model.get_base_model(), tok, name=f"{lm.name}+lora-{fingerprint[:8]}",
                      pooling=lm.pooling, max_tokens=lm.max_tokens,
                      batch_tokens=lm.batch_tokens, layer=lm.layer)
