"""``alignlab judge make-bench``: write the synthetic grounded benchmark to a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alignlab.core import bad_flag, check_at_least, check_seed, config_field
from alignlab.judge._synth_bench import FAMILIES, write_bench
from alignlab.judge._synth_common import LEVELS
from alignlab.judge._synth_draw import MIN_SIZE

MAX_SIZE = 1024
MIN_CELL = 10  # pixels per grid cell: smaller circles and triangles blur into squares


@dataclass(frozen=True)
class MakeBenchConfig:
    n: int = config_field(200, "number of pairs (families take turns)")
    families: tuple[str, ...] = config_field(
        tuple(FAMILIES),
        "task families, mirroring MMRB2: t2i (text-to-image faithfulness), edit (image "
        "editing), interleaved (text-image sequences), reasoning (questions about an image)",
    )
    seed: int = config_field(0, "seed; pair i depends only on (seed, i) and the settings")
    image_size: int = config_field(64, f"image side in pixels ({MIN_SIZE}..{MAX_SIZE})")
    difficulty: int = config_field(
        1,
        "1: 3x3 grid, 3 colours, circles and squares, counts 1-3; 2: 4 colours, triangles, "
        "counts 1-5; 3: 4x4 grid, 6 colours, more objects, wrong answers off by one",
    )
    out: str = config_field(
        "data/judge/synth-bench", "output folder (pairs.jsonl, images/, manifest.json)"
    )
    overwrite: bool = config_field(False, "replace an existing output folder that holds a bench")

    def __post_init__(self) -> None:
        """Reject values that would write a different bench than asked for.

        Raises:
            AlignlabError: naming the field.
        """
        check_at_least(self.n, 1, "n", "pairs to write")
        check_seed(self.seed)
        if not self.families:
            bad_flag("families", "--families needs at least one family")
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            bad_flag("families", f"--families: unknown {unknown}; choose from {list(FAMILIES)}")
        if len(set(self.families)) != len(self.families):
            bad_flag("families", f"--families names a family twice: {list(self.families)}")
        if self.difficulty not in LEVELS:
            bad_flag(
                "difficulty", f"--difficulty must be one of {sorted(LEVELS)}, not {self.difficulty}"
            )
        if not MIN_SIZE <= self.image_size <= MAX_SIZE:
            bad_flag(
                "image_size",
                f"--image-size must be in {MIN_SIZE}..{MAX_SIZE}, not {self.image_size}",
            )
        grid = LEVELS[self.difficulty].grid
        if self.image_size // grid < MIN_CELL:
            bad_flag(
                "image_size",
                f"--image-size {self.image_size} is too small for --difficulty {self.difficulty}: "
                f"its {grid}x{grid} grid needs at least {MIN_CELL * grid} pixels",
            )


def run_make_bench(config: MakeBenchConfig) -> Path:
    """Write the bench ``config`` describes; returns its folder."""
    return write_bench(
        config.out,
        n=config.n,
        families=config.families,
        seed=config.seed,
        image_size=config.image_size,
        difficulty=config.difficulty,
        overwrite=config.overwrite,
    )
