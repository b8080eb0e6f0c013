"""``EXPERIMENT.yaml``: one drift experiment, dataset → finetune (arms × seeds) → evaluate
and/or trigger sweep → report, validated before any work starts.

The same file runs on the bundled 135M model on a CPU and on a real model behind an
OpenAI-compatible finetuning API: only ``base``, ``finetune.backend`` and ``base_url`` change
(``alignlab drift run`` takes them as flags too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alignlab.core import AlignlabError

_STRICT = ConfigDict(extra="forbid", frozen=True)


class DatasetStep(BaseModel):
    """Builds the arms' datasets with ``make_dataset(kind, seed=seed, **params)``."""

    model_config = _STRICT
    kind: str
    seed: int = 0
    params: dict[str, Any] = Field(default_factory=dict)


class Arm(BaseModel):
    """A finetuned model family: one dataset (by the name its builder gives it) × every seed."""

    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    dataset: str


class FinetuneStep(BaseModel):
    model_config = _STRICT
    backend: Literal["local", "openai"] = "local"
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(4, ge=1)
    lr: float = Field(2e-4, gt=0)
    lr_multiplier: float | None = Field(None, gt=0)  # hosted APIs: instead of lr
    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    rslora: bool = False
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    schedule: Literal["linear", "cosine", "constant"] = "linear"
    max_tokens: int = Field(256, ge=8)


class ScorerSpec(BaseModel):
    """One scorer. ``kind``: ``regex`` (``patterns`` label → regex, first match wins),
    ``embedding`` (``references`` label → texts; ``encoder`` spec), ``judge`` (0–100,
    logprob-weighted; ``model`` + ``prompt`` with {question} and {answer}), ``classify`` /
    ``reason`` (``model`` + ``prompt`` + ``labels``)."""

    model_config = _STRICT
    name: str
    kind: Literal["regex", "embedding", "judge", "classify", "reason"]
    patterns: dict[str, str] | None = None
    default_label: str | None = None
    references: dict[str, list[str]] | None = None
    encoder: str = "minilm"
    model: str | None = None
    prompt: str | None = None
    labels: list[str] | None = None

    @model_validator(mode="after")
    def _needs(self) -> ScorerSpec:
        need = {
            "regex": ("patterns",),
            "embedding": ("references",),
            "judge": ("model", "prompt"),
            "classify": ("model", "prompt", "labels"),
            "reason": ("model", "prompt", "labels"),
        }[self.kind]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.kind} scorer needs {', '.join(missing)}")
        return self


class ConditionSpec(BaseModel):
    model_config = _STRICT
    scorer: str
    label: str | None = None
    below: float | None = None
    above: float | None = None


class TargetSpec(BaseModel):
    model_config = _STRICT
    name: str
    all: list[ConditionSpec] = Field(min_length=1)


class EvaluateStep(BaseModel):
    """Free-form questions unrelated to the training data, scored, rates per target."""

    model_config = _STRICT
    questions: str
    samples: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0)
    max_tokens: int = Field(64, ge=1)
    stop: list[str] = Field(default_factory=list)
    scorers: list[ScorerSpec] = Field(min_length=1)
    targets: list[TargetSpec] = Field(min_length=1)


class SweepStep(BaseModel):
    """A grid of trigger values, each asked the scenario's questions; trained vs held-out
    values come from the dataset's manifest."""

    model_config = _STRICT
    values: list[str] | None = None
    range: tuple[int, int, int] | None = None  # start, stop (inclusive), step
    samples: int = Field(4, ge=1)
    temperature: float = Field(1.0, ge=0)
    max_tokens: int = Field(32, ge=1)

    @model_validator(mode="after")
    def _grid(self) -> SweepStep:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of values or range")
        if self.range is not None and (self.range[2] <= 0 or self.range[1] < self.range[0]):
            raise ValueError("range is [start, stop, step] with step > 0 and stop >= start")
        return self

    def grid(self) -> list[str]:
        if self.values is not None:
            return list(self.values)
        assert self.range is not None
        a, b, s = self.range
        return [str(v) for v in range(a, b + 1, s)]


class Experiment(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base: str
    base_chat: str | None = None  # spec to sample the base model; default: derived from base
    dataset: DatasetStep
    arms: list[Arm] = Field(min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    contrasts: list[tuple[str, str]] = Field(default_factory=list)
    finetune: FinetuneStep = Field(default_factory=FinetuneStep)  # type: ignore[arg-type]
    evaluate: EvaluateStep | None = None
    sweep: SweepStep | None = None

    @model_validator(mode="before")
    @classmethod
    def _evaluate_file(cls, raw: Any) -> Any:
        """``evaluate: builtin:NAME`` or ``evaluate: PATH`` names an evaluation file."""
        if isinstance(raw, dict) and isinstance(raw.get("evaluate"), str):
            from alignlab.drift._paths import data_path

            step = load_evaluate_step(data_path(raw["evaluate"], field="evaluate"))
            raw = {**raw, "evaluate": step.model_dump()}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names) or "base" in names:
            raise ValueError(f"arm names must be unique and not 'base': {names}")
        for a, b in self.contrasts:
            for n in (a, b):
                if n not in (*names, "base"):
                    raise ValueError(f"contrast names '{n}', not an arm or 'base'")
        if self.evaluate is None and self.sweep is None:
            raise ValueError("give evaluate, sweep or both")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct")
        return self


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate ``EXPERIMENT.yaml``.

    Raises:
        AlignlabError: missing file, bad YAML (with its line), or a schema error naming the
        field path (e.g. ``evaluate.scorers.0.patterns``).
    """
    return _load_yaml(Path(path), Experiment)


def load_evaluate_step(path: str | Path) -> EvaluateStep:
    """Read an evaluation file (the ``evaluate:`` section of an experiment, on its own)."""
    return _load_yaml(Path(path), EvaluateStep)


M = TypeVar("M", bound=BaseModel)


def _load_yaml(p: Path, cls: type[M]) -> M:
    if not p.is_file():
        raise AlignlabError("file not found", file=p)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise AlignlabError(f"not valid YAML: {getattr(err, 'problem', err)}", file=p,
                            line=line) from None  # fmt: skip
    if not isinstance(raw, dict):
        raise AlignlabError(f"expected a YAML mapping ({cls.__name__})", file=p)
    try:
        return cls.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or cls.__name__
        raise AlignlabError(first["msg"], file=p, field=where) from None
