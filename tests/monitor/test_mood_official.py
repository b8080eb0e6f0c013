"""Slow tier: the official reader agrees. mood-bench's own ``mood analyze`` (mood-bench 1.0.0,
MOOD, arXiv 2605.21602) reads each ``mood/<model>__<monitor>/results.jsonl`` a bench run writes
and must reproduce every AUROC and recall@FPR in the run's ``metrics.json``.

Each folder is analysed alone (no ``--aggregator``): its ``score`` column is already the
monitor's final score, combined monitors included (alignlab fits λ on the calibration split).
Passing several files with ``--aggregator lambda`` would not match: mood-bench then picks λ on
the test set's in-distribution rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alignlab.monitor import BenchConfig, MoodRow, load_data, run_bench

pytestmark = pytest.mark.slow

# `mood analyze --in-distr-domains` accepts only mood-bench's own domain names, so the demo set
# is run as a local mood-bench copy under official names
_OFFICIAL_NAMES = {
    "chat": "hh-rlhf-harmless",
    "code-vuln": "insecure-code",
    "roleplay-jailbreak": "jailbroken",
    "sycophancy": "sycophantic",
    "tool-misuse": "function-calling-inappropriate",
}
# the console script `mood` is `sys.exit(mood_bench.cli.main())`: one folder goes through the
# script itself, the rest through that entry point in one process (importing mood_bench takes
# ~5 s, once per process)
_BATCH = (
    "import json, sys\n"
    "from mood_bench.cli import main\n"
    "for argv in json.loads(sys.argv[1]):\n"
    "    main(argv)\n"
)


def _mood_cli() -> str:
    here = Path(sys.executable).with_name("mood")
    found = str(here) if here.is_file() else shutil.which("mood")
    if found is None:
        pytest.skip("the official `mood` CLI (mood-bench 1.0.0) is not installed; `make install` "
                    "installs it")
    return found


def _write_mood_bench_copy(folder: Path) -> Path:
    demo = load_data("demo")
    folder.mkdir()

    def dump(rows: list[MoodRow], name: str) -> None:
        lines = [
            json.dumps({
                "id": r.id,
                "conversation": [{"role": t.role, "content": t.content} for t in r.conversation],
                "domain": _OFFICIAL_NAMES[r.domain],
                "malign": r.malign,
            })
            for r in rows
        ]
        (folder / name).write_text("\n".join(lines) + "\n")

    dump([*demo.train, *demo.calib], "train.jsonl")  # the loader carves calib from train again
    dump(list(demo.test), "test.jsonl")
    return folder


def _analyze_argv(results: Path, out: Path, id_domains: list[str]) -> list[str]:
    return ["analyze", str(results), "--output-dir", str(out),
            "--in-distr-domains", *id_domains, "--no-figures"]


def test_official_mood_analyze_reproduces_every_metric(tmp_path: Path) -> None:
    mood = _mood_cli()
    copy = _write_mood_bench_copy(tmp_path / "mood-bench-copy")
    cfg = BenchConfig(
        data=f"mood-bench:{copy}",
        models=("wordllama", "tiny-lm"),
        ppl_model="tiny-lm",
        detectors=("mahalanobis", "perplexity", "knn"),
        text_guards=(),
        n_boot=20,
        out=str(tmp_path / "runs"),
    )
    run = run_bench(cfg)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["id_domains"] == ["hh-rlhf-harmless"]
    monitors = metrics["monitors"]
    folders = {f"{m['model']}__{m['monitor']}".replace("/", "_").replace(":", "_"): key
               for key, m in monitors.items()}
    assert sorted(folders) == sorted(p.name for p in (run / "mood").iterdir())

    # mood-bench reads with `datasets`, whose cache must stay under tmp_path
    env = dict(os.environ, HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"), HF_HUB_OFFLINE="1")
    out = tmp_path / "official"
    argvs = [_analyze_argv(run / "mood" / name / "results.jsonl", out / name, metrics["id_domains"])
             for name in sorted(folders)]
    first, rest = argvs[0], argvs[1:]
    for cmd in ([mood, *first], [sys.executable, "-c", _BATCH, json.dumps(rest)]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    n, worst = 0, 0.0
    for name, key in folders.items():
        official = json.loads((out / name / "analysis.json").read_text())
        ours = json.loads((run / "mood" / name / "analysis.json").read_text())
        assert official["in_distr_domains"] == metrics["id_domains"]
        # alignlab's extra pooled "ood" group has no mood-bench counterpart
        assert set(official["groups"]) == set(monitors[key]["groups"]) - {"ood"}
        for group, vals in official["groups"].items():
            for field in ("n", "n_safe", "n_unsafe"):
                assert vals[field] == ours["groups"][group][field], (name, group, field)
            for metric, value in vals.items():
                if metric != "auroc" and not metric.startswith("tpr@fpr"):
                    continue
                mine = monitors[key]["groups"][group][metric]["value"]
                assert value is not None and mine == pytest.approx(value, abs=1e-9, rel=0), (
                    name, group, metric, mine, value)
                worst = max(worst, abs(mine - value))
                n += 1
    # 2 models × 8 monitors × (id + 4 OOD domains + overall) × (AUROC + 3 recalls)
    assert n == 2 * 8 * 6 * 4
    print(f"compared {n} values with mood analyze; max abs difference {worst:.3g}")
