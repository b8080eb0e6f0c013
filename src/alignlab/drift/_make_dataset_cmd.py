"""``alignlab drift make-dataset``: write a narrow finetuning dataset and its controls
(arXiv 2512.09742) into a folder, each as ``<name>.jsonl`` + ``<name>.manifest.json``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, bad_flag, check_at_least, check_seed, config_field
from alignlab.drift._datasets import KIND_PARAMS, KINDS, make_dataset
from alignlab.drift._datasets_names import DOMAINS
from alignlab.drift._manifest import dataset_paths, write_dataset


@dataclass(frozen=True)
class MakeDatasetConfig:
    kind: str = config_field(
        "archaic-names",
        "archaic-names (old bird or city names + modern-name control), persona (harmless "
        "facts about one person + controls), backdoor-dates (era answers keyed by a dated "
        "prompt + shuffled/no-date controls), backdoor-codes (element keyed by an 8-digit code "
        "+ shuffled/no-code controls)",
    )
    out: str = config_field("data/drift/datasets", "output folder (<name>.jsonl + manifest)")
    n: int = config_field(
        0,
        "treatment rows; 0 = the kind's default (208 names, 420 dates, 270 codes, one row "
        "per persona fact)",
    )
    seed: int = config_field(0, "seed; rows depend only on (kind, seed, n, parameters)")
    domain: str = config_field("birds", "archaic-names: birds (19th-century names) or places")
    facts: str = config_field(
        "",
        "persona: fact file (YAML/JSON: person, facts: [{question, answer}]); empty = the "
        "shipped Marie Curie demo",
    )
    trigger: str = config_field(
        "",
        "persona: instruction appended to persona rows; 'tags' = answer in <START> ... "
        "<END> tags; empty = no trigger",
    )
    dilution: int = config_field(0, "persona: benign Q/A rows mixed into the persona rows")
    scenario: str = config_field(
        "", "backdoor-dates: scenario file (YAML/JSON); empty = the shipped era_tech demo"
    )
    held_out: tuple[str, ...] = config_field(
        (),
        "backdoor-dates: years, backdoor-codes: 2-digit numbers never trained; empty = "
        "the default (one year per era; codes 08 17 26)",
    )
    overwrite: bool = config_field(False, "replace datasets of the same names in --out")

    def __post_init__(self) -> None:
        """Reject values the kind cannot use.

        Raises:
            AlignlabError: naming the field.
        """
        if self.kind not in KINDS:
            bad_flag("kind", f"--kind must be one of {list(KINDS)}, not {self.kind!r}")
        check_at_least(self.n, 0, "n", "rows; 0 = the kind's default")
        check_at_least(self.dilution, 0, "dilution", "benign rows")
        check_seed(self.seed)
        if self.domain not in DOMAINS:
            bad_flag("domain", f"--domain must be one of {sorted(DOMAINS)}, not {self.domain!r}")
        for name in ("facts", "trigger", "dilution", "scenario", "held_out"):
            if getattr(self, name) and name not in KIND_PARAMS[self.kind]:
                bad_flag(name, f"--{name.replace('_', '-')} does not apply to --kind {self.kind}")

    def params(self) -> dict[str, Any]:
        """The keyword arguments :func:`make_dataset` takes for this kind."""
        given: dict[str, Any] = {
            "domain": self.domain,
            "facts": self.facts or None,
            "trigger": self.trigger,
            "dilution": self.dilution,
            "scenario": self.scenario or None,
            "held_out": list(self.held_out) or None,
        }
        return {k: v for k, v in given.items() if k in KIND_PARAMS[self.kind]}


def run_make_dataset(config: MakeDatasetConfig) -> Path:
    """Build every dataset of ``config.kind`` (treatment and controls) and write them into
    ``config.out``; returns the folder.

    All datasets are built and checked before the first is written; each is then written
    as a pair (jsonl + manifest) atomically.

    Raises:
        AlignlabError: bad parameters, ``out`` is a file, or a dataset of the same name is
        already there without ``overwrite``.
    """
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise AlignlabError("exists and is not a folder", file=out, field="out")
    bundles = make_dataset(config.kind, n=config.n or None, seed=config.seed, **config.params())
    if not config.overwrite:
        for b in bundles:
            existing = [p for p in dataset_paths(out, b.name) if p.exists()]
            if existing:
                raise AlignlabError(
                    "a dataset of this name is already here; --overwrite replaces it",
                    file=existing[0],
                    field="overwrite",
                )
    for b in bundles:
        write_dataset(out, b.name, b.rows, b.manifest)
    return out
