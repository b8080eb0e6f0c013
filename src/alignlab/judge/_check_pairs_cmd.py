"""``alignlab judge check-pairs``: load pairs in any supported layout and say what is there, or
stop at the first bad row with its file, line and field."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from alignlab.core import bad_flag, config_field
from alignlab.judge._loaders import load_pairs


@dataclass(frozen=True)
class CheckPairsConfig:
    path: str = config_field(
        "",
        "a file or folder of pairs: a make-bench folder, plain jsonl, MMRB2's task JSON files "
        "or parquet files, VL-RewardBench's data.jsonl",
    )
    task: str = config_field(
        "", "task name for layouts that carry none (MMRB2 files under other names)"
    )
    open_images: bool = config_field(
        False, "decode every image as well (finds corrupt files; slower)"
    )

    def __post_init__(self) -> None:
        """Raises:
        AlignlabError: no ``--path``."""
        if not self.path:
            bad_flag("path", "--path is required: the pairs to check")


def run_check_pairs(config: CheckPairsConfig) -> str:
    """Load (and with ``open_images`` decode) everything; returns a one-paragraph summary."""
    pairs = load_pairs(config.path, task=config.task or None)
    n_images = 0
    for p in pairs:
        for seg in p.images():
            if config.open_images:
                p.open_image(seg)
            n_images += 1
    tasks = Counter(p.task for p in pairs)
    golds = Counter(p.gold for p in pairs)
    by_task = ", ".join(f"{t} {n}" for t, n in sorted(tasks.items()))
    checked = "decoded" if config.open_images else "found"
    return (
        f"{len(pairs)} pairs in {config.path} ({by_task}); gold A {golds['A']}, "
        f"B {golds['B']}; {n_images} images {checked}"
    )
