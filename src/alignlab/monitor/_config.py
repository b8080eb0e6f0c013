"""One frozen config per ``alignlab monitor`` verb; the CLI builds its flags from the fields.

Each field's ``metadata["help"]`` is its ``--help`` text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from alignlab.core import bad_flag, check_at_least

T = TypeVar("T")


def _f(default: T, help: str) -> T:  # noqa: A002 - mirrors argparse's name
    """A dataclass field with ``--help`` text (typed as its default for mypy)."""
    return cast(T, field(default=cast(Any, default), metadata={"help": help}))


NLL_DETECTORS = ("perplexity", "excess-surprise")  # the detectors that read the causal LM


@dataclass(frozen=True)
class BenchConfig:
    data: str = _f(
        "demo",
        "benchmark: 'demo' (small set shipped with alignlab), 'public' (built from --raw-dir: "
        "absolute safe/unsafe labels in distribution), 'public-hh-preference' (the older build "
        "trained on HH-RLHF relative preferences, where guards sit at chance), 'mood-bench' "
        "(official set from the hub), 'mood-bench:PATH' (local copy), or a folder written by "
        "'alignlab monitor build'",
    )
    raw_dir: str = _f("../shared/data/raw", "raw public sources for --data public")
    extra_test: tuple[str, ...] = _f((), "extra test domain(s): jsonl in the MOOD row schema")
    untouched: tuple[str, ...] = _f(
        (),
        "OOD domains kept out of every design choice, reported apart as 'untouched' groups "
        "(default: the benchmark manifest's untouched_domains)",
    )
    models: tuple[str, ...] = _f(
        ("wordllama", "minilm", "smollm2"),
        "feature models, smallest first (wordllama, minilm, smollm2, tiny-lm, hf:ID_OR_PATH); "
        "each gets its own guard and feature detectors — the scaling curve runs over them",
    )
    ppl_model: str = _f("smollm2", "causal LM whose token NLL feeds perplexity detectors")
    ppl_finetune: bool = _f(
        False,
        "LoRA-finetune the perplexity LM on the train split first, as MOOD does (minutes per "
        "hundred texts on CPU; cached by train set, caps and seed)",
    )
    detectors: tuple[str, ...] = _f(
        ("mahalanobis", "perplexity"),
        "OOD detectors: mahalanobis, relative-mahalanobis, knn, perplexity, excess-surprise, "
        "energy, max-logit, disagreement",
    )
    guard: str = _f("logistic", "guard head on frozen features: logistic or mlp")
    text_guards: tuple[str, ...] = _f(
        ("lora:minilm",),
        "text-level guards scored beside the feature guards: lora:BASE (LoRA sequence "
        "classifier trained on the train split; feature detectors use its last-layer hidden "
        "states, as MOOD does) or zeroshot:LM (P(unsafe) from first-token logprobs); BASE: "
        "tiny, minilm, smollm2, hf:ID_OR_PATH; LM: tiny, smollm2, hf:ID_OR_PATH. lora:minilm "
        "trains in minutes on 2 CPU cores; larger bases want a GPU. Pass --text-guards with "
        "no value for none",
    )
    aggregator: str = _f(
        "lambda", "how guard and detectors combine: lambda (MOOD), mean, min, stack"
    )
    max_rows: int = _f(150, "cap on test rows per (domain, label); 0 = no cap")
    max_train: int = _f(300, "cap on train and calib rows per (domain, label); 0 = no cap")
    max_tokens: int = _f(128, "truncate each conversation to this many tokens")
    fprs: tuple[float, ...] = _f((0.005, 0.01, 0.02), "false-positive rates for recall")
    n_boot: int = _f(500, "bootstrap replicates for confidence intervals")
    seed: int = _f(0, "seed for caps, splits and bootstrap")
    out: str = _f("runs", "folder that holds run folders")
    cache: str = _f("", "feature cache file (default: ~/.cache/alignlab/features.sqlite)")
    no_cache: bool = _f(False, "do not read or write the feature cache")

    def __post_init__(self) -> None:
        """Reject flag values that would crash later or be silently ignored.

        ``fprs`` always gains 0.01: the report's headline figures are recall at 1% FPR.

        Raises:
            AlignlabError: naming the field (``field="n_boot"`` for ``--n-boot``).
        """
        from alignlab.core import check_out_dir

        check_at_least(self.n_boot, 1, "n_boot", "bootstrap replicates")
        check_at_least(self.max_tokens, 1, "max_tokens", "tokens per conversation")
        check_at_least(self.max_rows, 0, "max_rows", "test rows per (domain, label); 0 = no cap")
        check_at_least(self.max_train, 0, "max_train", "train rows per (domain, label); 0 = no cap")
        check_at_least(self.seed, 0, "seed", "numpy seeds are non-negative")
        if not self.fprs:
            bad_flag("fprs", "--fprs needs at least one rate, e.g. --fprs 0.005 0.01 0.02")
        for f in self.fprs:
            if not 0.0 < f < 1.0:  # NaN fails too
                bad_flag("fprs", f"--fprs {f:g} is not a rate strictly between 0 and 1")
        object.__setattr__(self, "fprs", tuple(sorted({*map(float, self.fprs), 0.01})))
        if not self.models and not self.text_guards:
            bad_flag(
                "models", "--models needs at least one feature model (e.g. --models wordllama)"
            )
        if self.no_cache and self.cache:
            bad_flag("cache", "--cache and --no-cache contradict each other; pass one")
        if self.ppl_finetune and not set(self.detectors) & set(NLL_DETECTORS):
            bad_flag(
                "ppl_finetune",
                "--ppl-finetune finetunes the LM behind "
                f"{' and '.join(NLL_DETECTORS)}, but --detectors has neither",
            )
        default_raw = BenchConfig.__dataclass_fields__["raw_dir"].default
        uses_raw = self.data == "public" or self.data.startswith("public-")
        if self.raw_dir != default_raw and not uses_raw:
            bad_flag("raw_dir", f"--raw-dir is only read by --data public, not --data {self.data}")
        check_out_dir(self.out)


@dataclass(frozen=True)
class BuildConfig:
    raw_dir: str = _f(
        "../shared/data/raw", "folder with the raw public sources, in their published layout"
    )
    out: str = _f("data/built/mood-public", "output folder (train/calib/test jsonl + manifest)")
    design: str = _f(
        "absolute",
        "absolute (XSTest completions + moderation samples in distribution, labels that say "
        "safe or unsafe) or hh-preference (HH-RLHF chosen/rejected pairs: relative labels, "
        "kept to reproduce older runs)",
    )
    seed: int = _f(0, "seed for sampling and splits")
    max_per_domain: int = _f(400, "cap on OOD rows per (domain, label)")
    overwrite: bool = _f(False, "replace an existing output folder that holds a built benchmark")

    def __post_init__(self) -> None:
        """Reject values that would build a silently different benchmark.

        Raises:
            AlignlabError: naming the field.
        """
        check_at_least(self.seed, 0, "seed", "numpy seeds are non-negative")
        check_at_least(self.max_per_domain, 1, "max_per_domain", "OOD rows per (domain, label)")
