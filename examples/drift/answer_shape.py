"""Rescore a finished ``drift run`` folder's sampled answers with one regex target, per arm
with CIs across seeds (for runs made before a target was added to their evaluation file).

Usage: ``.venv/bin/python examples/drift/answer_shape.py RUN [REGEX]`` (default: answers of at
most four words, the ``bare_name_answer`` target of ``builtin:era_eval``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from alignlab.drift import RegexScorer, rate_difference, read_answers, seed_rate

BARE_NAME = r"^\W*(\w+\W*){1,4}$"


def main(run: Path, pattern: str) -> None:
    scorer = RegexScorer({"hit": pattern}, default="miss", name="shape")
    hits: dict[str, dict[str, list[float | None]]] = {}
    for folder in sorted((run / "evals").iterdir()):
        arm, seed = folder.name.rsplit("-s", 1)
        answers = [a for a in read_answers(folder / "answers.jsonl") if a.text is not None]
        scores = scorer.score("", [a.text or "" for a in answers])
        hits.setdefault(arm, {})[seed] = [float(s.label == "hit") for s in scores]
    for arm, by_seed in hits.items():
        print(f"{arm}: {seed_rate(by_seed).fmt()}")
    for arm in hits:
        if arm != "base":
            d, lo, hi = rate_difference(hits[arm], hits["base"])
            print(f"{arm} - base: {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] points")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else BARE_NAME)
