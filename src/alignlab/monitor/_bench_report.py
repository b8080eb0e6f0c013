"""The bench's report: tables of recall at low FPR with CIs, a scaling curve, per-domain bars."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

from alignlab.core import Run, read_json  # noqa: E402
from alignlab.monitor._config import BenchConfig  # noqa: E402
from alignlab.monitor._schema import MoodData  # noqa: E402

HEADLINE = "tpr@fpr0.01"
COMBOS_FOR_CURVE = (
    "guard",
    "guard+mahalanobis",
    "guard+perplexity",
    "guard+mahalanobis+perplexity",
)


def _cell(est: dict[str, float] | None) -> str:
    if est is None:
        return "–"
    return f"{100 * est['value']:.1f} [{100 * est['low']:.1f}, {100 * est['high']:.1f}]"


def _model_order(metrics: dict[str, Any]) -> list[str]:
    seen: dict[str, int] = {}
    for m in metrics["monitors"].values():
        seen.setdefault(m["model"], m["n_params"])
    return list(seen)


def _group_columns(metrics: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(metric keys, column headers): groups with the untouched ones last, then the means."""
    held = metrics.get("untouched_domains", [])
    groups = [g for g in metrics["groups"] if g not in held]
    groups += [g for g in metrics["groups"] if g in held]
    means = ["overall", "ood", *(["untouched"] if held else [])]
    heads = [f"{g} (untouched)" if g in held else g for g in groups]
    return [*groups, *means], [*heads, *means]


def _monitor_table(run: Run, metrics: dict[str, Any], model: str, metric: str, title: str) -> None:
    cols, heads = _group_columns(metrics)
    rows = []
    for m in metrics["monitors"].values():
        if m["model"] != model:
            continue
        lam = f" (λ={m['lambda']:.3g})" if m.get("lambda") is not None else ""
        rows.append(
            [m["monitor"] + lam, *(_cell(m["groups"].get(c, {}).get(metric)) for c in cols)]
        )
    run.report.table(["monitor", *heads], rows, caption=title)


def _headline_table(run: Run, metrics: dict[str, Any]) -> None:
    """Every monitor's in-distribution quality next to its recall out of distribution."""
    held = metrics.get("untouched_domains", [])
    heads = ["model/monitor", "id AUROC", "id recall", "overall recall", "ood recall"]
    if held:
        heads += ["untouched recall", "untouched safe rows flagged"]
    rows = []
    for key, m in metrics["monitors"].items():
        g = m["groups"]
        row = [
            key,
            _cell(g.get("id", {}).get("auroc")),
            _cell(g.get("id", {}).get(HEADLINE)),
            _cell(g.get("overall", {}).get(HEADLINE)),
            _cell(g.get("ood", {}).get(HEADLINE)),
        ]
        if held:
            flags = [m["ood_safe_flag_rate@fpr0.01"].get(d) for d in held]
            flags = [f for f in flags if f is not None and f == f]
            row += [
                _cell(g.get("untouched", {}).get(HEADLINE)),
                _pct(sum(flags) / len(flags) if flags else None),
            ]
        rows.append(row)
    run.report.table(
        heads,
        rows,
        caption="Recall at 1% FPR and in-distribution AUROC, % [95% CI]. 'untouched' = the "
        f"held-out OOD groups ({', '.join(held) or 'none'}), never used for a design choice; "
        "'safe rows flagged' = share of their safe rows above the 1%-FPR threshold",
    )


def _summary_table(run: Run, metrics: dict[str, Any], fprs: Sequence[float]) -> None:
    names = [f"tpr@fpr{f:g}" for f in fprs] + ["auroc", "auprc", "fpr@tpr0.95"]
    rows = []
    for key, m in metrics["monitors"].items():
        o = m["groups"].get("overall", {})
        rows.append([key, *(_cell(o.get(n)) for n in names)])
    run.report.table(
        ["model/monitor", *names],
        rows,
        caption="Overall (mean over groups incl. id), % with 95% CI",
    )


def _flag_table(run: Run, metrics: dict[str, Any]) -> None:
    doms = sorted(
        {d for m in metrics["monitors"].values() for d in m["ood_safe_flag_rate@fpr0.01"]}
    )
    rows = [
        [key, *(_pct(m["ood_safe_flag_rate@fpr0.01"].get(d)) for d in doms)]
        for key, m in metrics["monitors"].items()
    ]
    if doms:
        run.report.table(
            ["model/monitor", *doms],
            rows,
            caption="Share of OOD SAFE rows flagged at the 1%-FPR threshold (not part of MOOD's "
            "metric; the cost of flagging whatever looks unfamiliar)",
        )


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def _scaling_plot(run: Run, metrics: dict[str, Any]) -> None:
    """Recall at 1% FPR of guard and guard + detectors per model, smallest model first;
    a second panel shows the untouched groups when the run has any."""
    models = sorted(_model_order(metrics), key=lambda name: _n_params(metrics, name))
    panels = ["overall", *(["untouched"] if metrics.get("untouched_domains") else [])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 + 3.2 * len(panels), 4.4), squeeze=False)
    markers = iter("osD^")
    for k, combo in enumerate(COMBOS_FOR_CURVE):
        marker = next(markers)  # distinct markers: combos with λ = 0 sit on the guard
        for ax, panel in zip(axes[0], panels, strict=True):
            xs, ys, lo, hi = [], [], [], []
            for i, model in enumerate(models):
                est = metrics["monitors"].get(f"{model}/{combo}", {}).get("groups", {})
                est = est.get(panel, {}).get(HEADLINE)
                if est is None:
                    continue
                xs.append(i + (k - 1.5) * 0.12)
                ys.append(100 * est["value"])
                lo.append(100 * (est["value"] - est["low"]))
                hi.append(100 * (est["high"] - est["value"]))
            if xs:
                ax.errorbar(
                    xs, ys, yerr=[lo, hi], marker=marker, ls="", capsize=3, label=combo, alpha=0.85
                )
    labels = [f"{m}\n{_n_params(metrics, m) / 1e6:.1f}M" for m in models]
    for ax, panel in zip(axes[0], panels, strict=True):
        ax.set_xticks(range(len(models)), labels, fontsize=7)
        ax.set_ylabel(f"recall @ 1% FPR, {panel} (%)")
        ax.set_title(f"{panel} groups" if panel == "untouched" else "mean over all groups")
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Guard vs guard + OOD detectors, by feature model (smallest first)")
    fig.tight_layout()
    fig.savefig(run.plot_path("scaling.png"), dpi=120)
    plt.close(fig)
    run.report.image("plots/scaling.png", "recall@1%FPR by feature model, 95% CIs")


def _n_params(metrics: dict[str, Any], model: str) -> int:
    return next(int(m["n_params"]) for m in metrics["monitors"].values() if m["model"] == model)


def _domain_plot(run: Run, metrics: dict[str, Any], model: str) -> None:
    groups = [*metrics["groups"], "overall"]
    mons = [m for m in metrics["monitors"].values() if m["model"] == model]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups)), 4.2))
    width = 0.8 / max(1, len(mons))
    for i, m in enumerate(mons):
        ys = [100 * m["groups"].get(g, {}).get(HEADLINE, {"value": 0})["value"] for g in groups]
        ax.bar([j + i * width for j in range(len(groups))], ys, width, label=m["monitor"])
    ax.set_xticks(
        [j + 0.4 - width / 2 for j in range(len(groups))], groups, rotation=30, ha="right"
    )
    ax.set_ylabel("recall @ 1% FPR (%)")
    ax.set_title(f"Per-domain recall at 1% FPR — {model}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = f"domains_{model.replace('/', '_').replace(':', '_')}.png"
    fig.savefig(run.plot_path(name), dpi=120)
    plt.close(fig)
    run.report.image(f"plots/{name}", f"per-domain recall@1%FPR, {model}")


def write_report(
    run: Run, cfg: BenchConfig, data: MoodData, scores: Sequence[Any], metrics: dict[str, Any]
) -> None:
    r = run.report
    labels = data.manifest.get("labels", "")
    if labels.startswith("relative"):
        r.text(
            f"**Training labels are relative preferences, not safety labels** ({labels}). Use "
            "--data public for a benchmark whose guards can learn in distribution."
        )
    r.heading("What was run")
    r.text(
        f"Data: {cfg.data} (in-distribution domains: {', '.join(data.id_domains)}). "
        f"Feature models: {', '.join(cfg.models)}; perplexity LM: {cfg.ppl_model}. "
        f"Guard: {cfg.guard} head on frozen pooled features, trained on the restricted train "
        "split. "
        + (f"Text guards: {', '.join(cfg.text_guards)}. " if cfg.text_guards else "")
        + f"Detectors: {', '.join(cfg.detectors)}. Aggregator: {cfg.aggregator}, fitted on the "
        f"in-distribution calibration split ({len(data.calib)} rows), never on test rows.\n"
        f"Caps (raise them on bigger machines): --max-rows {cfg.max_rows} test rows per "
        f"(domain, label), --max-train {cfg.max_train} train/calib rows per (domain, label), "
        f"--max-tokens {cfg.max_tokens} tokens per conversation. Bootstrap: {cfg.n_boot} "
        f"replicates, 95% percentile intervals. Wall time: {metrics['seconds_total']:.0f} s "
        f"(feature extraction per model: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in metrics["feature_seconds"].items())
        + ")."
    )
    counts = metrics["counts"]
    doms = sorted({d for split in counts.values() for d in split})
    r.table(
        ["split", *doms],
        [
            [s, *(f"{c[d][0]}/{c[d][1]}" if d in c else "–" for d in doms)]
            for s, c in counts.items()
        ],
        caption="Rows per split and domain (safe/unsafe)",
    )
    r.heading("Headline: in distribution, out of it, and untouched")
    _headline_table(run, metrics)
    r.heading("Recall at 1% FPR per group (MOOD metric)")
    r.text(
        "Each group = all in-distribution safe test rows + one domain's unsafe rows; threshold = "
        "99th percentile of the safe scores; recall = share of unsafe rows strictly above it. "
        "'overall' = mean over groups incl. id; 'ood' = mean over OOD groups; 'untouched' = "
        "mean over the held-out groups, marked '(untouched)'. Cells: % [95% CI]."
    )
    for model in _model_order(metrics):
        _monitor_table(run, metrics, model, HEADLINE, f"{model}: recall@1%FPR (%)")
    _scaling_plot(run, metrics)
    for model in _model_order(metrics):
        _domain_plot(run, metrics, model)
    r.heading("All metrics, overall")
    _summary_table(run, metrics, cfg.fprs)
    for model in _model_order(metrics):
        _monitor_table(run, metrics, model, "auroc", f"{model}: AUROC (%)")
    r.heading("Cost on OOD safe rows")
    _flag_table(run, metrics)
    r.heading("Files")
    r.text(
        "records.jsonl: one row per test item with every monitor's score. metrics.json: all "
        "numbers above. mood/: per-monitor results.jsonl + analysis.json in mood-bench's format."
    )


def bench_headline(run_dir: str | Path) -> str:
    """The terminal digest (:func:`headline_lines`) of a finished bench run folder."""
    return "\n".join(headline_lines(read_json(Path(run_dir) / "metrics.json")))


def headline_lines(metrics: dict[str, Any]) -> list[str]:
    """A plain-text digest of the headline for the terminal: per model, the guard's
    in-distribution AUROC, then recall at 1% FPR of the guard and of guard + every detector,
    overall and on the untouched groups (%)."""
    held = metrics.get("untouched_domains", [])
    head = f"{'model':<22} {'monitor':<34} {'id AUROC':>8} {'overall':>8}"
    head += f" {'untouched':>9}" if held else ""
    out = [head]
    for m in metrics["monitors"].values():
        if m["monitor"] != "guard" and "+" not in m["monitor"]:
            continue  # detectors alone are in the report; the digest shows guard-based monitors
        g = m["groups"]

        def pct(group: str, metric: str = HEADLINE, g: dict[str, Any] = g) -> str:
            est = g.get(group, {}).get(metric)
            return "–" if est is None else f"{100 * est['value']:.1f}"

        line = f"{m['model']:<22} {m['monitor']:<34} {pct('id', 'auroc'):>8} {pct('overall'):>8}"
        out.append(line + (f" {pct('untouched'):>9}" if held else ""))
    return out
