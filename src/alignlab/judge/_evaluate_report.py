"""The end of ``alignlab judge evaluate``: ``metrics.json``, MMRB2's predictions file per
prompt (``predictions-<prompt>.json``), a plot and the report (the prompts side by side, per
task tables, the failed requests listed)."""

from __future__ import annotations

from typing import Any

from alignlab.core import Run
from alignlab.judge._evaluate import verdict_of
from alignlab.judge._judge_metrics import METRICS, judge_metrics, predictions

LABELS = {
    "accuracy": "accuracy (MMRB2: correct / 2N)",
    "pair_accuracy": "pair accuracy (right in both orders)",
    "consistency": "consistency (same preference in both orders)",
    "first_forward": "first-position preference, forward",
    "first_reverse": "first-position preference, reverse",
    "parse_failure": "no readable verdict",
    "request_failure": "failed requests",
}
MAX_LISTED = 50


def _fmt(est: dict[str, float] | None) -> str:
    if est is None:
        return "–"
    return f"{est['value']:.3f} [{est['low']:.3f}, {est['high']:.3f}]"


def finish(run: Run, cfg: Any, rows: list[dict[str, Any]], *, n_skipped: int) -> None:
    """Write metrics, predictions, the plot and the report for the records ``rows``."""
    verdicts = [verdict_of(r) for r in rows]
    metrics = judge_metrics(verdicts, n_boot=cfg.n_boot, seed=cfg.seed)
    failures = [r for r in rows if r.get("error") is not None]
    run.write_metrics(
        {"model": cfg.model, "prompts": metrics, "judgements": len(rows),
         "failed_requests": len(failures), "skipped_on_resume": n_skipped}
    )  # fmt: skip
    for prompt in metrics:
        mine = [v for v in verdicts if v.prompt == prompt]
        outputs = {(r["pair_id"], r["order"]): r["output"] for r in rows if r["prompt"] == prompt}
        run.write_json(f"predictions-{prompt}.json", predictions(mine, outputs))
    _report(run, cfg, metrics, failures, len(rows))
    if metrics:
        _plot(run, metrics)


def _report(
    run: Run, cfg: Any, metrics: dict[str, Any], failures: list[dict[str, Any]], n: int
) -> None:
    r = run.report
    prompts = list(metrics)
    pairs = max((m["overall"]["pairs"] for m in metrics.values()), default=0)
    r.heading("What was run")
    r.text(
        f"{pairs} pairs from {cfg.pairs}, each judged forward (as stored) and reverse "
        f"(candidates swapped) by {cfg.model} with the {' and '.join(prompts)} prompt(s): "
        f"{n} judgements, {len(failures)} failed requests. Values with 95% bootstrap CIs over "
        "pairs; a failed request or an unreadable verdict counts as wrong. Predictions in "
        "MMRB2's format: " + ", ".join(f"predictions-{p}.json" for p in prompts) + "."
    )
    r.heading("Overall")
    r.table(
        ["metric", *prompts],
        [[LABELS[k], *[_fmt(metrics[p]["overall"][k]) for p in prompts]] for k in METRICS],
        caption="first-position preference: share of readable verdicts picking the candidate "
        "shown first",
    )
    for p in prompts:
        tasks = metrics[p]["tasks"]
        r.heading(f"Per task — {p} prompt")
        r.table(
            ["task", "pairs", *[LABELS[k] for k in METRICS]],
            [[t, m["pairs"], *[_fmt(m[k]) for k in METRICS]] for t, m in tasks.items()],
        )
    r.heading("Failed requests")
    if not failures:
        r.text("None.")
        return
    r.table(
        ["pair", "order", "prompt", "error"],
        [[f["pair_id"], f["order"], f["prompt"], str(f["error"])[:200]]
         for f in failures[:MAX_LISTED]],
        caption=f"{len(failures)} failed" + (f", first {MAX_LISTED} listed" if
                                             len(failures) > MAX_LISTED else ""),
    )  # fmt: skip


def _plot(run: Run, metrics: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = ("accuracy", "pair_accuracy", "consistency", "first_forward", "first_reverse")
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(metrics)
    for j, (prompt, m) in enumerate(metrics.items()):
        ests = [m["overall"][k] or {"value": np.nan, "low": np.nan, "high": np.nan} for k in keys]
        mean = np.array([e["value"] for e in ests])
        err = np.abs(np.array([[e["low"] for e in ests], [e["high"] for e in ests]]) - mean)
        ax.bar(np.arange(len(keys)) + j * width, mean, width, yerr=err, label=prompt)
    ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2, [k.replace("_", "\n") for k in keys])
    ax.set(ylim=(0, 1.05), title="judge scores by prompt (95% CI)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run.plot_path("scores.png"), dpi=100)
    plt.close(fig)
    run.report.image("plots/scores.png", "overall scores by prompt, 95% bootstrap CIs")
