"""``alignlab judge evaluate``: judge every pair in both orders, MMRB2's scores with bootstrap
CIs per task and overall, the chain and the plain prompt side by side, MMRB2's predictions
files, and a resumable run folder (records appended as judged)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import (
    AlignlabError,
    Run,
    bad_flag,
    check_at_least,
    check_seed,
    config_field,
    resumed_config,
)
from alignlab.judge._scripted import BEHAVIOURS, PROMPTS

RESUMABLE_CHANGES = ("resume", "out", "concurrency", "timeout", "max_retries")


@dataclass(frozen=True)
class EvaluateConfig:
    pairs: str = config_field(
        "data/judge/synth-bench",
        "pairs to judge: a make-bench folder, an MMRB2 copy, VL-RewardBench, or plain jsonl "
        "(every layout load_pairs reads; every pair needs gold)",
    )
    model: str = config_field(
        "scripted:grounded",
        "the judge: openai:MODEL@BASE_URL (any OpenAI-compatible server; key from "
        "$OPENAI_API_KEY); a local vision-language model: hf-vlm:<hub id or path> (e.g. "
        "RUN/model of judge sft / judge train), tiny-vlm[:SEED]; or scripted:grounded / "
        "scripted:position-biased / scripted:random (known answers, for tests and demos)",
    )
    prompt: tuple[str, ...] = config_field(
        ("chain", "baseline"), "prompts: chain (grounded verification chain), baseline (plain)"
    )
    no_system: bool = config_field(
        False, "leave out the instructions (system message), as judges trained without them need"
    )
    limit: int = config_field(0, "judge only the first N pairs (0: all)")
    concurrency: int = config_field(
        8, "requests in flight (>= 1); a local model judges this many per batch"
    )
    max_tokens: int = config_field(2048, "tokens per answer (>= 1)")
    temperature: float = config_field(0.0, "sampling temperature (>= 0)")
    timeout: float = config_field(120.0, "seconds per HTTP attempt (> 0)")
    max_retries: int = config_field(3, "retries per request after a timeout, 429 or 5xx (>= 0)")
    n_boot: int = config_field(1000, "bootstrap replicates for CIs (>= 100)")
    seed: int = config_field(0, "bootstrap seed")
    out: str = config_field("runs", "folder that holds run folders")
    resume: str = config_field("", "a run folder of this command to continue (judged items are "
                               "skipped, failed ones asked again)")  # fmt: skip

    def __post_init__(self) -> None:
        """Reject bad flag values before any work.

        Raises:
            AlignlabError: naming the field.
        """
        parse_model(self.model)
        if not self.prompt:
            bad_flag("prompt", "--prompt needs chain, baseline or both")
        for p in self.prompt:
            if p not in PROMPTS:
                bad_flag("prompt", f"unknown --prompt '{p}'; use {', '.join(PROMPTS)}")
        if len(set(self.prompt)) != len(self.prompt):
            bad_flag("prompt", f"--prompt names a prompt twice: {list(self.prompt)}")
        check_at_least(self.limit, 0, "limit", "pairs; 0 = all")
        check_at_least(self.concurrency, 1, "concurrency", "requests in flight")
        check_at_least(self.max_tokens, 1, "max_tokens", "tokens per answer")
        check_at_least(self.max_retries, 0, "max_retries", "retries per request")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            bad_flag("temperature", f"--temperature must be >= 0, not {self.temperature}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            bad_flag("timeout", f"--timeout must be > 0 seconds, not {self.timeout}")
        check_at_least(self.n_boot, 100, "n_boot", "bootstrap replicates")
        check_seed(self.seed)
        if self.resume and not Path(self.resume).is_dir():
            bad_flag("resume", f"--resume {self.resume}: run folder not found")


def parse_model(spec: str) -> tuple[str, str, str]:
    """``("scripted", behaviour, "")``, ``("openai", model, base_url)`` or ``("local", spec,
    "")`` for ``hf-vlm:...`` and ``tiny-vlm[:SEED]``.

    Raises:
        AlignlabError: any other spec (field ``model``).
    """
    kind, _, rest = spec.partition(":")
    if kind == "scripted" and rest in BEHAVIOURS:
        return kind, rest, ""
    if (kind == "hf-vlm" and rest) or (kind == "tiny-vlm" and (not rest or rest.isdigit())):
        return "local", spec, ""
    if kind == "openai":
        model, at, url = rest.rpartition("@")
        if at and model and url.startswith(("http://", "https://")):
            return kind, model, url
    bad_flag(
        "model",
        f"unknown --model '{spec}': use openai:MODEL@http(s)://HOST/v1, hf-vlm:<id or path>, "
        "tiny-vlm[:SEED] or " + " / ".join(f"scripted:{b}" for b in BEHAVIOURS),
    )


def load_backend(cfg: EvaluateConfig) -> Any:
    """The judge ``cfg.model`` names (a ``ScriptedJudge``, an ``OpenAIChat`` or an
    ``HFVisionChat``)."""
    kind, name, url = parse_model(cfg.model)
    if kind == "scripted":
        from alignlab.judge._scripted import ScriptedJudge

        return ScriptedJudge(name)
    if kind == "local":
        from alignlab.models import load_vision_chat

        if name.startswith("tiny-vlm:"):
            return load_vision_chat("tiny-vlm", seed=int(name.split(":")[1]))
        return load_vision_chat(name)
    from alignlab.models import OpenAIChat

    return OpenAIChat(name, base_url=url, timeout=cfg.timeout, max_retries=cfg.max_retries)


def _same_model(cfg: EvaluateConfig) -> bool:
    """Whether ``cfg.model`` names the run's model, perhaps at another base URL (a server
    restarted elsewhere serves the same judge)."""
    from alignlab.core import read_json

    stored = read_json(Path(cfg.resume) / "config.json").get("model", "")
    try:
        return parse_model(str(stored))[:2] == parse_model(cfg.model)[:2]
    except AlignlabError:
        return False


def run_evaluate(cfg: EvaluateConfig) -> Path:
    """Judge, score and report (module doc); returns the run folder. With ``--resume RUN``,
    the run's own config with the flags given laid over it."""
    from alignlab.judge._evaluate import check_unique, items_for, judge_items, pending, read_records
    from alignlab.judge._evaluate_report import finish
    from alignlab.judge._loaders import load_pairs

    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
    pairs = load_pairs(cfg.pairs)
    pairs = pairs[: cfg.limit] if cfg.limit else pairs
    check_unique(pairs, cfg.pairs)
    backend = load_backend(cfg)
    prepare = getattr(backend, "register", None)
    items = items_for(pairs, cfg.prompt)
    if cfg.resume:
        allowed = RESUMABLE_CHANGES + (("model",) if _same_model(cfg) else ())
        run = Run.resume(cfg.resume, cfg, allowed=allowed, extend=True)
    else:
        run = Run("judge", "evaluate", cfg, root=cfg.out, resumable=True)
    try:
        with run:
            todo = pending(items, read_records(run.dir))
            judge_items(
                backend, todo, run.dir, concurrency=cfg.concurrency, max_tokens=cfg.max_tokens,
                temperature=cfg.temperature,
                prepare=(lambda m, it: prepare(m, it.shown, it.prompt)) if prepare else None,
                system=not cfg.no_system,
            )  # fmt: skip
            wanted = {it.key for it in items}
            rows = [r for r in read_records(run.dir) if (r["pair_id"], r["order"], r["prompt"])
                    in wanted]  # fmt: skip
            finish(run, cfg, rows, n_skipped=len(items) - len(todo))
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()
    return run.final_dir
