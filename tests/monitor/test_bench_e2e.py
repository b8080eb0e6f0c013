"""End-to-end bench on the demo set with tiny in-code models (fast tier)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alignlab.cli import main
from alignlab.core import read_jsonl
from alignlab.monitor import BenchConfig, run_bench

TINY = ("tiny-encoder", "tiny-lm")


def _cfg(tmp_path: Path, **kw: object) -> BenchConfig:
    base = dict(
        data="demo",
        models=TINY,
        ppl_model="tiny-lm",
        text_guards=(),
        n_boot=50,
        out=str(tmp_path / "runs"),
    )
    base.update(kw)
    return BenchConfig(**base)  # type: ignore[arg-type]


def test_bench_writes_complete_run(tmp_path: Path) -> None:
    run = run_bench(_cfg(tmp_path, detectors=("mahalanobis", "perplexity", "knn")))
    for name in ("config.json", "metrics.json", "records.jsonl", "report.md", "report.html"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    mons = metrics["monitors"]
    expected = {
        "guard",
        "mahalanobis",
        "perplexity",
        "knn",
        "guard+mahalanobis",
        "guard+perplexity",
        "guard+knn",
        "guard+all",
    }
    assert {m["monitor"] for m in mons.values()} == expected
    g = mons["tiny-lm/guard"]["groups"]
    assert (
        g["id"]["tpr@fpr0.01"]["low"]
        <= g["id"]["tpr@fpr0.01"]["value"]
        <= g["id"]["tpr@fpr0.01"]["high"]
    )
    assert len(metrics["groups"]) >= 4 and metrics["groups"][0] == "id"
    lam = mons["tiny-lm/guard+mahalanobis"]["lambda"]
    assert lam == 0.0 or 0.01 <= lam <= 100.0
    rows = [r for _, r in read_jsonl(run / "records.jsonl")]
    assert rows and len(rows[0]["scores"]) == 2 * len(expected)
    assert (run / "plots" / "scaling.png").stat().st_size > 1000
    report = (run / "report.md").read_text()
    assert "recall@1%FPR" in report and "--max-rows" in report
    mood = run / "mood" / "tiny-lm__guard+mahalanobis+perplexity"
    assert not mood.exists()  # three detectors → the combined monitor is called guard+all
    mood = run / "mood" / "tiny-lm__guard+all"
    first = json.loads((mood / "results.jsonl").read_text().splitlines()[0])
    assert set(first) == {"id", "conversation", "domain", "malign", "score"}
    analysis = json.loads((mood / "analysis.json").read_text())
    assert analysis["in_distr_domains"] == metrics["id_domains"]


def test_extra_test_domain_is_reported_as_a_group(tmp_path: Path) -> None:
    extra = tmp_path / "mine.jsonl"
    rows = [
        {
            "id": f"mine-{i}",
            "conversation": [{"role": "user", "content": f"odd request {i}"}],
            "domain": "my-domain",
            "malign": 1,
        }
        for i in range(12)
    ]
    extra.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run = run_bench(_cfg(tmp_path, extra_test=(str(extra),), detectors=("mahalanobis",)))
    metrics = json.loads((run / "metrics.json").read_text())
    assert "my-domain" in metrics["groups"]
    assert "my-domain" in (run / "report.md").read_text()


def test_bad_inputs_exit_nonzero_without_partial_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    base = [
        "monitor",
        "bench",
        "--data",
        "demo",
        "--models",
        *TINY,
        "--ppl-model",
        "tiny-lm",
        "--out",
        str(out),
        "--n-boot",
        "10",
        "--text-guards",  # none: the default LoRA guard would load a real model
    ]
    assert main([*base, "--detectors", "nonsense"]) == 2
    assert "unknown detector 'nonsense'" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "conversation": "hi", "domain": "d", "malign": 2}\n')
    assert main([*base, "--extra-test", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "malign" in err
    assert main([*base, "--models", "no-such-model"]) == 2
    assert not out.exists() or not any(
        p.name.endswith(".partial") or p.is_dir() for p in (out / "monitor-bench").glob("*")
    )


def test_cli_help_mentions_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["monitor", "bench", "--help"])
    assert err.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--data",
        "--extra-test",
        "--models",
        "--detectors",
        "--max-rows",
        "--max-tokens",
        "--aggregator",
    ):
        assert flag in text


def test_text_guards_lora_and_zeroshot(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        models=("tiny-encoder",),
        text_guards=("lora:tiny", "zeroshot:tiny"),
        detectors=("mahalanobis", "perplexity"),
    )
    run = run_bench(cfg)
    mons = json.loads((run / "metrics.json").read_text())["monitors"]
    lora = {m["monitor"] for m in mons.values() if m["model"] == "lora:tiny"}
    assert lora == {
        "guard",
        "mahalanobis",
        "perplexity",
        "guard+mahalanobis",
        "guard+perplexity",
        "guard+mahalanobis+perplexity",
    }
    zs = {m["monitor"] for m in mons.values() if m["model"] == "zeroshot:tiny"}
    assert zs == {"guard", "perplexity", "guard+perplexity"}  # no hidden states to use
    assert mons["lora:tiny/guard"]["n_params"] > 0


def test_unknown_text_guard_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "monitor",
        "bench",
        "--models",
        "tiny-encoder",
        "--ppl-model",
        "tiny-lm",
        "--out",
        str(tmp_path),
        "--text-guards",
        "magic:x",
    ]
    assert main(args) == 2
    assert "unknown text guard 'magic:x'" in capsys.readouterr().err


def test_perplexity_under_finetuned_lm(tmp_path: Path) -> None:
    base = _cfg(tmp_path, models=("tiny-encoder",), detectors=("perplexity",))
    plain = json.loads((run_bench(base) / "metrics.json").read_text())["monitors"]
    tuned_run = run_bench(
        _cfg(tmp_path, models=("tiny-encoder",), detectors=("perplexity",), ppl_finetune=True)
    )
    tuned = json.loads((tuned_run / "metrics.json").read_text())["monitors"]
    a = plain["tiny-encoder/perplexity"]["groups"]["overall"]["auroc"]["value"]
    b = tuned["tiny-encoder/perplexity"]["groups"]["overall"]["auroc"]["value"]
    assert a != b  # the finetuned LM scores the rows differently
    rows = [r for _, r in read_jsonl(tuned_run / "records.jsonl")]
    assert all(np.isfinite(r["scores"]["tiny-encoder/perplexity"]) for r in rows)
