"""``alignlab report``: re-render saved reports and compare metrics across runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alignlab.core.errors import AlignlabError
from alignlab.core.io import read_json
from alignlab.core.report import Report, md_cell
from alignlab.core.runs import RUN_META, load_metrics

_TITLE = re.compile(r"^alignlab (\S+) (\S+) — ")


def load_run_report(run_dir: str | Path) -> Report:
    """The checked ``report.json`` of a run folder (see :meth:`Report.load`)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise AlignlabError("run folder not found", file=run_dir)
    if not (run_dir / "report.json").is_file():
        raise AlignlabError("not a run folder (no report.json)", file=run_dir)
    return Report.load(run_dir)


def rerender(run_dir: str | Path) -> None:
    """Rewrite ``report.md`` and ``report.html`` from the run's ``report.json``."""
    load_run_report(run_dir).save(run_dir)


def run_kind(run_dir: str | Path) -> str | None:
    """``"<system>-<verb>"`` of the command that wrote the run (from ``run.json``, else the
    report title runs have always carried), or None when neither says."""
    run_dir = Path(run_dir)
    if (run_dir / RUN_META).is_file():
        meta = read_json(run_dir / RUN_META)
        if isinstance(meta, dict) and isinstance(meta.get("system"), str):
            return f"{meta['system']}-{meta.get('verb')}"
    if (run_dir / "report.json").is_file():
        m = _TITLE.match(Report.load(run_dir).title)
        if m:
            return f"{m.group(1)}-{m.group(2)}"
    return None


def check_comparable(run_dirs: list[str]) -> None:
    """Refuse to compare runs written by different commands: their metrics mean different
    things even where the names agree."""
    first: tuple[str, str] | None = None
    for d in run_dirs:
        kind = run_kind(d)
        if kind is None:
            continue
        if first is None:
            first = (d, kind)
        elif kind != first[1]:
            raise AlignlabError(
                f"cannot compare a {kind} run with a {first[1]} run ({first[0]}); "
                "compare runs of one command",
                file=d,
                field="runs",
            )


def flatten(obj: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics dict as ``{"a/b/c": value}``; CI dicts keep their value."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        if "value" in obj and isinstance(obj["value"], (int, float)):
            return {prefix: float(obj["value"])}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}/{k}" if prefix else str(k)))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[prefix] = float(obj)
    return out


def compare_runs(run_dirs: list[str], *, contains: str = "") -> str:
    """A Markdown table of the metrics shared by all runs whose path contains ``contains``."""
    flat = [flatten(load_metrics(d)) for d in run_dirs]
    keys = [k for k in flat[0] if contains in k and all(k in f for f in flat[1:])]
    head = "| metric | " + " | ".join(md_cell(Path(d).name) for d in run_dirs) + " |"
    lines = [head, "|---" * (len(run_dirs) + 1) + "|"]
    lines += [f"| {md_cell(k)} | " + " | ".join(f"{f[k]:.4g}" for f in flat) + " |" for k in keys]
    return "\n".join(lines)
