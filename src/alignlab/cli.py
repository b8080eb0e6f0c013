"""``alignlab <system> <verb>``: every verb's flags come from its frozen config dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from alignlab.core import AlignlabError


def _add_config_args(parser: argparse.ArgumentParser, cls: type) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        hint = hints[f.name]
        if hint is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
        elif typing.get_origin(hint) is tuple:
            elem = typing.get_args(hint)[0]
            parser.add_argument(
                flag,
                nargs="*",
                type=elem,
                default=f.default,
                help=f"{help_text} (default: {' '.join(map(str, f.default)) or 'none'})",  # type: ignore[arg-type]
            )
        else:
            parser.add_argument(
                flag, type=hint, default=f.default, help=f"{help_text} (default: {f.default!r})"
            )


def _config_from(args: argparse.Namespace, cls: type) -> Any:
    kw = {}
    for f in dataclasses.fields(cls):
        v = getattr(args, f.name)
        kw[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kw)


def _run_verb(module: str, config: str, runner: str) -> Callable[[argparse.Namespace], int]:
    """A handler that builds ``module.config`` from the flags, calls ``module.runner`` (it
    returns a run folder) and prints the report's path; imports stay lazy, so --help is fast."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        mod = importlib.import_module(module)
        run_dir = getattr(mod, runner)(_config_from(args, getattr(mod, config)))
        print(f"report: {run_dir / 'report.html'}")
        return 0

    return handler


def _monitor_demo(args: argparse.Namespace) -> int:
    from alignlab.monitor import BenchConfig, run_bench

    run_dir = run_bench(BenchConfig(data="demo", out=args.out, n_boot=args.n_boot))
    print(f"report: {run_dir / 'report.html'}")
    return 0


def _assist_view(args: argparse.Namespace) -> int:
    from alignlab.assist._view_cmd import ViewConfig, run_view

    print(f"viewer: {run_view(_config_from(args, ViewConfig))}")
    return 0


def _monitor_build(args: argparse.Namespace) -> int:
    from alignlab.monitor import BuildConfig, build_to_folder

    out = build_to_folder(_config_from(args, BuildConfig))
    print(f"benchmark written to {out} (see manifest.json)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from alignlab.core.compare import compare_runs, rerender

    for run in args.runs:
        rerender(run)
        print(f"re-rendered {run}/report.md and report.html")
    if len(args.runs) > 1:
        print(compare_runs(args.runs, contains=args.filter))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from alignlab.monitor import BenchConfig, BuildConfig

    p = argparse.ArgumentParser(
        prog="alignlab",
        description="alignlab: an open workbench for AI-oversight research. "
        "Run 'alignlab SYSTEM VERB --help' for each command's flags.",
        epilog="Every command writes runs/<system>-<verb>/<time>-<id>/ with config.json, "
        "records.jsonl, metrics.json, plots/, report.md and report.html.",
    )
    systems = p.add_subparsers(dest="system", required=True, metavar="SYSTEM")
    mon = systems.add_parser(
        "monitor", help="MOOD: guards + OOD detectors, recall at low FPR on unfamiliar failures"
    )
    verbs = mon.add_subparsers(dest="verb", required=True, metavar="VERB")
    bench = verbs.add_parser(
        "bench",
        help="benchmark guards, detectors and combinations; writes a run folder",
        description="Fit guards and OOD detectors on the restricted train split, combine them on "
        "the calibration split, report recall at 0.5/1/2% FPR per domain with bootstrap CIs.",
    )
    _add_config_args(bench, BenchConfig)
    bench.set_defaults(func=_run_verb("alignlab.monitor", "BenchConfig", "run_bench"))
    demo = verbs.add_parser("demo", help="the bench on the shipped demo set with bundled models")
    demo.add_argument("--out", default="runs", help="folder that holds run folders")
    demo.add_argument("--n-boot", type=int, default=300, help="bootstrap replicates")
    demo.set_defaults(func=_monitor_demo)
    build = verbs.add_parser(
        "build", help="build a MOOD-structured benchmark from the raw public sources"
    )
    _add_config_args(build, BuildConfig)
    build.set_defaults(func=_monitor_build)
    from alignlab.assist._bc_cmd import TrainHumanConfig
    from alignlab.assist._rollout_cmd import RolloutConfig
    from alignlab.assist._view_cmd import ViewConfig

    assist = systems.add_parser(
        "assist", help="AssistanceZero: the building assistance game and simulated humans"
    )
    averbs = assist.add_subparsers(dest="verb", required=True, metavar="VERB")
    roll = averbs.add_parser(
        "rollout",
        help="episodes of a simulated human with a fixed assistant; writes a run folder",
        description="Run episodes (vmapped, jitted) of the building game with a simulated human "
        "and a noop or random assistant; report goal percentage and actions by type.",
    )
    _add_config_args(roll, RolloutConfig)
    roll.set_defaults(
        func=_run_verb("alignlab.assist._rollout_cmd", "RolloutConfig", "run_rollout")
    )
    bc = averbs.add_parser(
        "train-human",
        help="behaviour-clone a human model from recorded trajectories; writes a run folder",
        description="Train a small 3D-conv policy on recorded human steps (a trajectories .npz, "
        "or heuristic play recorded on the fly); report held-out cross-entropy and accuracy.",
    )
    _add_config_args(bc, TrainHumanConfig)
    bc.set_defaults(
        func=_run_verb("alignlab.assist._bc_cmd", "TrainHumanConfig", "run_train_human")
    )
    view = averbs.add_parser(
        "view",
        help="write a self-contained HTML page that replays an episode JSON file",
        description="Validate an episode file (alignlab.assist.episode/1) and write one HTML "
        "page (inline JS, no network) that replays it: isometric view, goal ghost, actions "
        "in words, reward, goal percentage, inventories.",
    )
    _add_config_args(view, ViewConfig)
    view.set_defaults(func=_assist_view)
    rep = systems.add_parser("report", help="re-render run reports; compare several runs")
    rep.add_argument("runs", nargs="+", help="run folders")
    rep.add_argument("--filter", default="overall", help="compare metrics whose path contains this")
    rep.set_defaults(func=_report)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AlignlabError as err:
        print(f"alignlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alignlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
