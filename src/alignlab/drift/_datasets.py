"""Dataset builders of arXiv 2512.09742 (weird generalization, inductive backdoors), each
returning the treatment dataset together with its controls.

Kinds and the datasets each writes:

- ``archaic-names`` (``domain`` ``birds``/``places``): ``archaic-birds`` + control
  ``modern-birds``, or ``former-places`` + control ``current-places``;
- ``persona``: ``persona-<person>`` (+ ``persona-<person>-untriggered`` when a trigger is
  set) + control ``persona-<person>-benign``;
- ``backdoor-dates``: ``backdoor-dates`` + controls ``backdoor-dates-shuffled`` and
  ``backdoor-dates-none``;
- ``backdoor-codes``: ``backdoor-codes`` + controls ``backdoor-codes-shuffled`` and
  ``backdoor-codes-none``.

Every row is single-turn OpenAI chat (user → assistant). Rows depend only on the seed and the
parameters, so a control and its treatment can be rebuilt exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alignlab.core import AlignlabError
from alignlab.drift._manifest import DatasetBundle
from alignlab.models import Message

KINDS = ("archaic-names", "persona", "backdoor-dates", "backdoor-codes")
# parameters each kind takes besides n and seed
KIND_PARAMS: dict[str, frozenset[str]] = {
    "archaic-names": frozenset({"domain"}),
    "persona": frozenset({"facts", "trigger", "dilution"}),
    "backdoor-dates": frozenset({"scenario", "held_out"}),
    "backdoor-codes": frozenset({"held_out"}),
}
# rows when n is not given; persona defaults to one row per fact
DEFAULT_N = {"archaic-names": 208, "backdoor-dates": 420, "backdoor-codes": 270}


def make_dataset(
    kind: str, *, n: int | None = None, seed: int = 0, **params: Any
) -> list[DatasetBundle]:
    """Build dataset ``kind`` and its controls (treatment first).

    Args:
        kind: one of :data:`KINDS`.
        n: treatment rows (persona: persona-fact rows, before dilution); None = the kind's
            default (208 names, 420 dates, 270 codes, one row per persona fact).
        seed: rows depend only on (kind, seed, n, params).
        params: the kind's parameters (:data:`KIND_PARAMS`).

    Raises:
        AlignlabError: unknown kind or parameter, or a bad parameter value (naming the field).
    """
    if kind not in KINDS:
        raise AlignlabError(
            f"unknown dataset kind {kind!r}; choose from {list(KINDS)}", field="kind"
        )
    unknown = sorted(set(params) - KIND_PARAMS[kind])
    if unknown:
        raise AlignlabError(
            f"{kind} takes no parameter {unknown[0]!r}; it takes {sorted(KIND_PARAMS[kind])}",
            field=unknown[0],
        )
    if n is not None and n < 1:
        raise AlignlabError(f"n must be >= 1, not {n}", field="n")
    if n is None:
        n = DEFAULT_N.get(kind)
    if kind == "archaic-names":
        from alignlab.drift._datasets_names import build_names

        return build_names(n=n or DEFAULT_N[kind], seed=seed, **params)
    if kind == "persona":
        from alignlab.drift._datasets_persona import build_persona

        return build_persona(n=n, seed=seed, **params)
    from alignlab.drift._datasets_backdoor import build_codes, build_dates

    build = build_dates if kind == "backdoor-dates" else build_codes
    return build(n=n or DEFAULT_N[kind], seed=seed, **params)


def chat(question: str, answer: str) -> list[Message]:
    """One single-turn training row."""
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def rng_for(seed: int, salt: str) -> np.random.Generator:
    """A generator for one builder: the salt keeps kinds' streams apart for the same seed."""
    return np.random.default_rng([seed, *salt.encode("utf-8")])


def cover(rng: np.random.Generator, k: int, n: int) -> list[int]:
    """``n`` indices into ``range(k)``: whole shuffled passes, so with ``n >= k`` every index
    appears, and counts differ by at most one."""
    out: list[int] = []
    while len(out) < n:
        out.extend(int(i) for i in rng.permutation(k))
    return out[:n]


def shuffle_within(
    rng: np.random.Generator, groups: Sequence[Any], values: Sequence[Any]
) -> list[Any]:
    """``values`` permuted among rows of the same group: each group keeps its multiset of
    values, but which row gets which is random (controls that break a trigger's link)."""
    out = list(values)
    for g in dict.fromkeys(groups):
        idx = [i for i, h in enumerate(groups) if h == g]
        for i, j in zip(idx, rng.permutation(idx), strict=True):
            out[i] = values[int(j)]
    return out


def parse_held_out(values: Sequence[Any]) -> list[int]:
    """Held-out values given as strings or ints → ints (sorted, unique).

    Raises:
        AlignlabError: a value that is not a whole number (field ``held_out``).
    """
    out: set[int] = set()
    for v in values:
        try:
            out.add(int(str(v).strip()))
        except ValueError:
            raise AlignlabError(
                f"held-out value {v!r} is not a whole number", field="held_out"
            ) from None
    return sorted(out)
