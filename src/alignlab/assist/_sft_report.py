"""The ``assist train-sft`` run's summary: ``metrics.json`` (each stage's last epoch) and a
report with held-out accuracy and loss curves per stage, drawn from ``metrics.jsonl``."""

from __future__ import annotations

from typing import Any

from alignlab.assist._sft_cmd import SFTConfig
from alignlab.assist._train_report import figure, what_was_run
from alignlab.core import read_metrics_log

_WHAT = {
    "pretrain": "the simulated human building alone (its sampled actions, from its own view)",
    "sft": "the goal-visible expert with the human (the expert's actions)",
}
_COLUMNS = (
    ("data/env_steps", "env steps", "{:,.0f}"),
    ("data/train_steps", "train steps", "{:,.0f}"),
    ("data/val_steps", "held-out steps", "{:,.0f}"),
    ("val/accuracy_start", "held-out acc. before", "{:.3f}"),
    ("val/accuracy", "held-out accuracy", "{:.3f}"),
    ("val/chance", "uniform legal", "{:.3f}"),
    ("val/majority", "commonest action", "{:.3f}"),
    ("val/ce", "held-out CE (nats)", "{:.3f}"),
    ("val/goal_acc_todo", "goal acc. (to do)", "{:.3f}"),
    ("data/env_steps_per_s", "data env steps/s", "{:,.0f}"),
    ("items_per_s", "train items/s", "{:,.0f}"),
)


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per stage: its last epoch's row, with ``val/accuracy_start`` from its first."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        first = out.setdefault(r["stage"], {})
        keep = (
            {"val/accuracy_start": first["val/accuracy_start"]}
            if first.get("val/accuracy_start") is not None
            else {}
        )
        out[r["stage"]] = {**r, **keep}
    return {s: {k: v for k, v in r.items() if k not in ("time",)} for s, r in out.items()}


def plot_curves(rows: list[dict[str, Any]], path: Any) -> None:
    with figure(path, 1, 2, (11, 4)) as (ax_acc, ax_loss):
        _plot_stages(rows, ax_acc, ax_loss)


def _plot_stages(rows: list[dict[str, Any]], ax_acc: Any, ax_loss: Any) -> None:
    for stage in ("pretrain", "sft"):
        pts = [r for r in rows if r["stage"] == stage]
        if not pts:
            continue
        x = [r["step"] for r in pts]
        ax_acc.plot(x, [r["val/accuracy"] for r in pts], "o-", label=f"{stage}: held-out")
        ax_acc.plot(x, [r["val/chance"] for r in pts], ":", label=f"{stage}: uniform legal")
        if isinstance(pts[0].get("val/accuracy_start"), float):  # before finetuning
            ax_acc.plot([x[0] - 1], [pts[0]["val/accuracy_start"]], "o", mfc="none", color="C2")
        ax_loss.plot(x, [r["loss/policy"] for r in pts], "o-", label=f"{stage}: policy CE")
        ax_loss.plot(x, [r["loss/goal"] for r in pts], "s--", label=f"{stage}: goal CE")
    ax_acc.set_title("held-out accuracy (argmax of masked policy = target)", fontsize=10)
    ax_loss.set_title("training losses (epoch means)", fontsize=10)
    for ax in (ax_acc, ax_loss):
        ax.set_xlabel("epochs (both stages)")
        ax.legend(fontsize=8)


def write_report(run: Any, cfg: SFTConfig) -> None:
    rows = read_metrics_log(run.dir / "metrics.jsonl")
    if not rows:
        return
    stages = summarise(rows)
    total = sum(int(s["data/env_steps"]) for s in stages.values())
    run.write_metrics({"env_steps": total, "stages": stages})
    plot_curves(rows, run.plot_path("curves.png"))
    r = run.report
    what_was_run(
        r,
        f"The pretraining + SFT imitation baseline on a {'×'.join(map(str, cfg.size))} grid "
        f"({cfg.goals} goals, horizon {cfg.horizon}, one goal and one game in eight held out): "
        f"network {cfg.depth} × {cfg.width} with {cfg.kernel}³ kernels, goal hidden; Adam lr "
        f"{cfg.lr}, batch {cfg.batch_size}, {cfg.epochs} epochs per stage, goal-head weight "
        f"{cfg.goal_weight}. Data budget: {total:,} joint env steps in all. The input is the "
        "acting player's observation with the goal channels zero (the human's steps: its own "
        "view, itself as 'self').",
        cfg.human,
    )
    lines = [f"- **{s}**: clones {_WHAT[s]}" for s in stages]
    if "sft" not in stages:
        lines.append(
            "- **sft: not run** (no `--expert`): `model/` is the pretrained network. Give a "
            "goal-visible `assist train` run with `--expert` for the SFT stage."
        )
    else:
        lines.append(f"- expert: `{cfg.expert}`")
    r.text("\n".join(lines))
    r.text(
        "Model: `model/` (`--assistants sft:RUN` in `alignlab assist evaluate`), after "
        "pretraining alone: `pretrained/` (`sft:RUN/pretrained`); per-epoch metrics: "
        "`metrics.jsonl`."
    )
    r.heading("Stages (last epoch)")
    cols = [c for c in _COLUMNS if any(c[0] in s for s in stages.values())]
    r.table(
        ["stage", *[c[1] for c in cols]],
        [
            [name, *[fmt.format(s[k]) if k in s else "–" for k, _, fmt in cols]]
            for name, s in stages.items()
        ],
        caption="held-out acc. before: the pretrained network on the SFT stage's held-out "
        "steps, before finetuning",
    )
    r.heading("Curves")
    r.image(
        "plots/curves.png",
        "per epoch; the SFT stage continues the epoch count (hollow: the pretrained network "
        "on the SFT stage's held-out steps)",
    )
