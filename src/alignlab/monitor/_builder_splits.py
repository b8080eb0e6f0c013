"""How the public builder splits in-distribution rows into train / calib / test, per design.

- :func:`grouped_splits` (absolute design): rows are grouped by their opening turn, so the five
  XSTest answers to one prompt, or a moderation sample seen twice, never cross splits; groups are
  split by fractions within each label stratum, so every split keeps the domain's label mix.
- :func:`hh_splits` (hh-preference design): one side of one HH pair per opening human turn.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from alignlab.core import AlignlabError
from alignlab.monitor import _sources as src
from alignlab.monitor._schema import MoodRow, with_split

SPLITS = ("train", "calib", "test")


def rng_for(seed: int, name: str) -> np.random.Generator:
    # One stream per purpose, so changing one domain's cap never reshuffles another domain.
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def cap_per_label(
    rows: Sequence[MoodRow], cap: int | None, rng: np.random.Generator
) -> list[MoodRow]:
    """Keep at most ``cap`` rows per label (seeded), in the input order."""
    if cap is None:
        return list(rows)
    keep: set[int] = set()
    for label in (0, 1):
        idx = [i for i, r in enumerate(rows) if r.malign == label]
        keep.update(idx[j] for j in rng.permutation(len(idx))[:cap])
    return [r for i, r in enumerate(rows) if i in keep]


def opening_key(row: MoodRow) -> str:
    """The opening turn, case- and space-normalised: rows sharing it share a split."""
    return " ".join(row.conversation[0].content.lower().split())


def grouped_splits(
    rows: Sequence[MoodRow], fractions: tuple[float, float, float], rng: np.random.Generator
) -> list[list[MoodRow]]:
    """``[train, calib, test]`` of one domain's rows (see module docstring).

    A group is unsafe when any of its rows is; groups of each kind are shuffled and cut at the
    cumulative ``fractions``. Rows keep the ids they came with; each list is sorted by id.
    """
    groups: dict[str, list[MoodRow]] = {}
    for r in rows:
        groups.setdefault(opening_key(r), []).append(r)
    out: list[list[MoodRow]] = [[], [], []]
    for label in (0, 1):
        keys = [k for k, g in groups.items() if max(r.malign for r in g) == label]
        order = [keys[i] for i in rng.permutation(len(keys))]
        cuts = np.round(np.cumsum(fractions) / sum(fractions) * len(order)).astype(int)
        for part, (lo, hi) in enumerate(zip([0, *cuts[:-1]], cuts, strict=True)):
            out[part] += [r for k in order[lo:hi] for r in groups[k]]
    return [
        with_split(sorted(p, key=lambda r: r.id), name) for p, name in zip(out, SPLITS, strict=True)
    ]


def hh_splits(raw: Path, seed: int, sizes: tuple[int, int, int]) -> list[list[MoodRow]]:
    """Train/calib/test rows of the HH-RLHF domain, as ``[train, calib, test]``.

    Pairs are grouped by their opening human turn; each group gives ONE row (one pair, one
    side), so no prompt is both safe and unsafe and no dialogue prefix crosses splits. Labels
    alternate over the shuffled groups, so every split is balanced to within one row.
    """
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for pair in src.hh_pairs(raw):
        groups.setdefault(src.opening_turn(pair[1]), []).append(pair)
    need = sum(sizes)
    if need > len(groups):
        raise AlignlabError(
            f"need {need} distinct HH prompts for id_train + id_calib + id_test, the file has "
            f"{len(groups)}",
            file=raw / src.HH_FILE,
        )
    rng = rng_for(seed, "hh-rlhf-harmless")
    keys = list(groups)
    order = rng.permutation(len(keys))[:need]
    rows = []
    for k, g in enumerate(order):
        pairs = groups[keys[g]]
        index, chosen, rejected = pairs[int(rng.integers(len(pairs)))]
        malign = k % 2
        rows.append(src.hh_row(index, rejected if malign else chosen, malign))
    bounds = np.cumsum([0, *sizes])
    out = []
    for name, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:], strict=True):
        part = sorted(rows[lo:hi], key=lambda r: r.id)
        out.append(with_split(part, name))
    return out
