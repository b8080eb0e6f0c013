"""Metrics, plots and the report of ``drift run``: rates per arm with CIs across seeds,
contrasts between arms, and the trigger sweep's curves and inductive gaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alignlab.core import Report, Run
from alignlab.drift._evaluate import ModelEval
from alignlab.drift._rates import rate_difference, seed_rate
from alignlab.drift._sweep import gap_estimate, pooled

Hits = dict[str, list[float | None]]


def evaluate_metrics(
    evals: dict[str, dict[str, ModelEval]],
    targets: Sequence[str],
    contrasts: Sequence[tuple[str, str]],
    n_boot: int,
) -> dict[str, Any]:
    """``evals``: arm → seed → evaluation. Per target: each arm's rate over seeds, and each
    contrast ``a - b``."""
    out: dict[str, Any] = {}
    for t in targets:
        arms = {arm: {s: e.hits[t] for s, e in by_seed.items()} for arm, by_seed in evals.items()}
        rates = {arm: seed_rate(h, n_boot=n_boot).as_dict() for arm, h in arms.items()}
        diffs = {}
        for a, b in contrasts:
            d, lo, hi = rate_difference(arms[a], arms[b], n_boot=n_boot)
            diffs[f"{a} - {b}"] = {"value": d, "low": lo, "high": hi}
        per_q = {arm: _per_question(by_seed, t) for arm, by_seed in evals.items()}
        out[t] = {"rate": rates, "contrasts": diffs, "per_question": per_q}
    return out


def _per_question(by_seed: dict[str, ModelEval], target: str) -> dict[str, float]:
    pooled_q: dict[str, list[float]] = {}
    for e in by_seed.values():
        for q, hs in e.by_question[target].items():
            pooled_q.setdefault(q, []).extend(h for h in hs if h is not None)
    return {q: float(np.mean(v)) if v else float("nan") for q, v in pooled_q.items()}


def sweep_metrics(
    sweeps: dict[str, dict[str, Hits]],
    trained: Sequence[str],
    held_out: Sequence[str],
    contrasts: Sequence[tuple[str, str]],
    n_boot: int,
) -> dict[str, Any]:
    """``sweeps``: arm → seed → value → hits. Per arm: trained and held-out rates, the
    inductive gap; per contrast: the held-out rate difference."""
    arms: dict[str, Any] = {}
    for arm, by_seed in sweeps.items():
        values = list(next(iter(by_seed.values())))
        curve = {v: float(np.mean([h for hv in by_seed.values() for h in hv[v] if h is not None]
                                  or [np.nan])) for v in values}  # fmt: skip
        arms[arm] = {
            "trained": seed_rate(pooled(by_seed, trained), n_boot=n_boot).as_dict(),
            "held_out": seed_rate(pooled(by_seed, held_out), n_boot=n_boot).as_dict(),
            "gap": gap_estimate(by_seed, trained, held_out, n_boot=n_boot).as_dict(),
            "curve": curve,
        }
    diffs = {}
    for a, b in contrasts:
        d, lo, hi = rate_difference(pooled(sweeps[a], held_out), pooled(sweeps[b], held_out),
                                    n_boot=n_boot)  # fmt: skip
        diffs[f"{a} - {b} (held-out)"] = {"value": d, "low": lo, "high": hi}
    grid = set(next(iter(next(iter(sweeps.values())).values())))
    return {"trained_values": [v for v in trained if v in grid],
            "held_out_values": [v for v in held_out if v in grid], "arms": arms,
            "contrasts": diffs}  # fmt: skip


def _pct(d: dict[str, Any]) -> str:
    return f"{100 * d['value']:.1f} [{100 * d['low']:.1f}, {100 * d['high']:.1f}]"


def _seeds(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {100 * v:.1f}" for k, v in d["per_seed"].items())


def report_evaluate(run: Run, report: Report, metrics: dict[str, Any]) -> None:
    report.heading("Evaluation: rate of each target behaviour (%)")
    for t, m in metrics.items():
        rows: list[list[Any]] = [[arm, _pct(r), _seeds(r), r["ci"]] for arm, r in m["rate"].items()]
        report.table(["model", "rate [95% CI]", "per seed", "CI resamples"], rows, caption=t)
        if m["contrasts"]:
            report.table(["contrast", "difference (points) [95% CI]"],
                         [[k, _pct(v)] for k, v in m["contrasts"].items()])  # fmt: skip
        _bar_plot(run, t, m["rate"])
        report.image(f"plots/rate-{t}.png", f"{t}: rate per model, 95% CI")


def report_sweep(run: Run, report: Report, metrics: dict[str, Any]) -> None:
    report.heading("Trigger sweep: expected behaviour per trigger value (%)")
    report.text(f"Trained values asked: {', '.join(metrics['trained_values'])}. Held-out values "
                f"(never in training): {', '.join(metrics['held_out_values'])}.")  # fmt: skip
    rows = [[arm, _pct(a["trained"]), _pct(a["held_out"]), _pct(a["gap"]), _seeds(a["gap"])]
            for arm, a in metrics["arms"].items()]  # fmt: skip
    report.table(["model", "trained", "held-out", "inductive gap", "gap per seed"], rows)
    if metrics["contrasts"]:
        report.table(["contrast", "difference (points) [95% CI]"],
                     [[k, _pct(v)] for k, v in metrics["contrasts"].items()])  # fmt: skip
    _sweep_plot(run, metrics)
    report.image("plots/sweep.png", "rate of the expected behaviour per trigger value")


def _bar_plot(run: Run, target: str, rates: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rates)
    vals = np.array([rates[n]["value"] for n in names]) * 100
    err = np.array([[rates[n]["value"] - rates[n]["low"], rates[n]["high"] - rates[n]["value"]]
                    for n in names]).T * 100  # fmt: skip
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(names), 3.2))
    ax.bar(names, vals, yerr=err, capsize=4, color="#4c72b0")
    ax.set_ylabel(f"{target} (%)")
    ax.set_ylim(0, 100)
    fig.tight_layout()
    fig.savefig(run.plot_path(f"rate-{target}.png"), dpi=120)
    plt.close(fig)


def _sweep_plot(run: Run, metrics: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.4))
    held = set(metrics["held_out_values"])
    for arm, a in metrics["arms"].items():
        xs = list(a["curve"])
        ax.plot(range(len(xs)), [100 * a["curve"][v] for v in xs], marker="o", ms=3, label=arm)
    for i, v in enumerate(xs):
        if v in held:
            ax.axvspan(i - 0.5, i + 0.5, color="#f0c040", alpha=0.3, lw=0)
    step = max(1, len(xs) // 16)
    ax.set_xticks(range(0, len(xs), step), [xs[i] for i in range(0, len(xs), step)], rotation=45)
    ax.set_ylabel("expected behaviour (%)")
    ax.set_xlabel("trigger value (shaded: held out)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run.plot_path("sweep.png"), dpi=120)
    plt.close(fig)
