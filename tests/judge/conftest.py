"""Shared fixtures of the judge tests: a small synthetic bench with two-image pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignlab.judge import Pair, load_pairs, write_bench


@pytest.fixture(scope="session")
def train_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight pairs of the t2i and reasoning families (1-2 images each), 32-px images."""
    return write_bench(
        tmp_path_factory.mktemp("judge-train") / "bench",
        n=8,
        families=("t2i", "reasoning"),
        image_size=32,
    )


@pytest.fixture(scope="session")
def train_pairs(train_bench: Path) -> list[Pair]:
    return load_pairs(train_bench)
