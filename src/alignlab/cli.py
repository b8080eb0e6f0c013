"""``alignlab <system> <verb>``: every verb's flags come from its frozen config dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
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


class _VerbParser(argparse.ArgumentParser):
    """A verb's parser whose flags come from its config dataclass (``config="module:Class"``),
    imported only when this verb is parsed or its help shown: building the CLI, or running one
    system, never imports another system (``alignlab assist`` does not load scikit-learn)."""

    def __init__(self, *args: Any, config: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._config = config

    def _add_flags(self) -> None:
        if self._config:
            module, name = self._config.split(":")
            self._config = ""  # once
            _add_config_args(self, getattr(importlib.import_module(module), name))

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._add_flags()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._add_flags()
        return super().format_help()

    def format_usage(self) -> str:
        self._add_flags()
        return super().format_usage()


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
        mod = importlib.import_module(module)
        run_dir = getattr(mod, runner)(_config_from(args, getattr(mod, config)))
        print(f"report: {run_dir / 'report.html'}")
        return 0

    return handler


def _monitor_bench(args: argparse.Namespace) -> int:
    from alignlab.monitor import BenchConfig, bench_headline, run_bench

    run_dir = run_bench(_config_from(args, BenchConfig))
    print(bench_headline(run_dir))
    print(f"report: {run_dir / 'report.html'}")
    return 0


def _monitor_demo(args: argparse.Namespace) -> int:
    from alignlab.monitor import BenchConfig, bench_headline, run_bench

    run_dir = run_bench(BenchConfig(data="demo", out=args.out, n_boot=args.n_boot))
    print(bench_headline(run_dir))
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


def _judge_make_bench(args: argparse.Namespace) -> int:
    from alignlab.judge._make_bench_cmd import MakeBenchConfig, run_make_bench

    out = run_make_bench(_config_from(args, MakeBenchConfig))
    print(f"benchmark written to {out} (see manifest.json)")
    return 0


def _judge_init_model(args: argparse.Namespace) -> int:
    from alignlab.judge._init_model_cmd import InitModelConfig, run_init_model

    run_init_model(_config_from(args, InitModelConfig))
    return 0


def _judge_compare(args: argparse.Namespace) -> int:
    from alignlab.judge._compare_cmd import CompareConfig, run_compare

    print(run_compare(_config_from(args, CompareConfig)), end="")
    return 0


def _judge_check_pairs(args: argparse.Namespace) -> int:
    from alignlab.judge._check_pairs_cmd import CheckPairsConfig, run_check_pairs

    print(run_check_pairs(_config_from(args, CheckPairsConfig)))
    return 0


def _report(args: argparse.Namespace) -> int:
    from alignlab.core.compare import check_comparable, compare_runs, load_run_report

    # every run is read and checked before any is rewritten, and all writing happens before
    # any printing: a bad run or a closed pipe leaves no run half re-rendered
    reports = [load_run_report(run) for run in args.runs]
    table = ""
    if len(args.runs) > 1:
        check_comparable(args.runs)
        table = compare_runs(args.runs, contains=args.filter)
    for run, report in zip(args.runs, reports, strict=True):
        report.save(run)
    for run in args.runs:
        print(f"re-rendered {run}/report.md and report.html")
    if table:
        print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
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
    verbs = mon.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_VerbParser)
    bench = verbs.add_parser(
        "bench",
        config="alignlab.monitor._config:BenchConfig",
        help="benchmark guards, detectors and combinations; writes a run folder",
        description="Fit guards and OOD detectors on the restricted train split, combine them on "
        "the calibration split, report recall at 0.5/1/2% FPR per domain with bootstrap CIs.",
    )
    bench.set_defaults(func=_monitor_bench)
    demo = verbs.add_parser("demo", help="the bench on the shipped demo set with bundled models")
    demo.add_argument("--out", default="runs", help="folder that holds run folders")
    demo.add_argument("--n-boot", type=int, default=300, help="bootstrap replicates")
    demo.set_defaults(func=_monitor_demo)
    build = verbs.add_parser(
        "build",
        config="alignlab.monitor._config:BuildConfig",
        help="build a MOOD-structured benchmark from the raw public sources",
    )
    build.set_defaults(func=_monitor_build)

    assist = systems.add_parser(
        "assist", help="AssistanceZero: the building assistance game and simulated humans"
    )
    averbs = assist.add_subparsers(
        dest="verb", required=True, metavar="VERB", parser_class=_VerbParser
    )
    roll = averbs.add_parser(
        "rollout",
        config="alignlab.assist._rollout_cmd:RolloutConfig",
        help="episodes of a simulated human with a fixed assistant; writes a run folder",
        description="Run episodes (vmapped, jitted) of the building game with a simulated human "
        "and a noop or random assistant; report goal percentage and actions by type.",
    )
    roll.set_defaults(
        func=_run_verb("alignlab.assist._rollout_cmd", "RolloutConfig", "run_rollout")
    )
    evaluate = averbs.add_parser(
        "evaluate",
        config="alignlab.assist._evaluate_cmd:EvaluateConfig",
        help="compare assistants on one goal set (same goals and human seeds); writes a run folder",
        description="Play each assistant (and noop, the human alone, as the reference) with the "
        "simulated human on the same goals and seeds; report goal percentage over time, "
        "completion, actions by type and the share of human actions saved, with bootstrap CIs.",
    )
    evaluate.set_defaults(
        func=_run_verb("alignlab.assist._evaluate_cmd", "EvaluateConfig", "run_evaluate")
    )
    train = averbs.add_parser(
        "train",
        config="alignlab.assist._train_cmd:TrainConfig",
        help="train the AssistanceZero assistant by self-play with the simulated human",
        description="AlphaZero-style self-play (mctx Gumbel MuZero search over the real game, "
        "goal and human-action heads) against the heuristic human; metrics stream to "
        "metrics.jsonl, the training state is checkpointed, --resume RUN continues a killed "
        "or finished run. --goal-visible trains the upper-bound baseline.",
    )
    train.set_defaults(func=_run_verb("alignlab.assist._train_cmd", "TrainConfig", "run_train"))
    sft = averbs.add_parser(
        "train-sft",
        config="alignlab.assist._sft_cmd:SFTConfig",
        help="train the pretraining + SFT imitation baseline (clone the human, then an expert)",
        description="Behaviour-clone the heuristic human's play from a goal-masked view, then "
        "finetune on a goal-visible expert's actions (--expert RUN of assist train "
        "--goal-visible); per-epoch held-out accuracy streams to metrics.jsonl, --resume RUN "
        "continues a killed run. The model plays greedily as sft:RUN in assist evaluate.",
    )
    sft.set_defaults(func=_run_verb("alignlab.assist._sft_cmd", "SFTConfig", "run_sft"))
    ppo = averbs.add_parser(
        "train-ppo",
        config="alignlab.assist._ppo_cmd:PPOConfig",
        help="train the PPO assistant baseline (goal-masked, goal-prediction auxiliary loss)",
        description="PPO against the heuristic human: the policy never sees the goal, a goal "
        "head learns to predict it; metrics stream to metrics.jsonl, the training state is "
        "checkpointed, --resume RUN continues a killed or finished run. The model plays in "
        "assist evaluate as ppo:RUN.",
    )
    ppo.set_defaults(func=_run_verb("alignlab.assist._ppo_cmd", "PPOConfig", "run_ppo"))
    bc = averbs.add_parser(
        "train-human",
        config="alignlab.assist._bc_cmd:TrainHumanConfig",
        help="behaviour-clone a human model from recorded trajectories; writes a run folder",
        description="Train a small 3D-conv policy on recorded human steps (a trajectories .npz, "
        "or heuristic play recorded on the fly); report held-out cross-entropy and accuracy.",
    )
    bc.set_defaults(
        func=_run_verb("alignlab.assist._bc_cmd", "TrainHumanConfig", "run_train_human")
    )
    view = averbs.add_parser(
        "view",
        config="alignlab.assist._view_cmd:ViewConfig",
        help="write a self-contained HTML page that replays an episode JSON file",
        description="Validate an episode file (alignlab.assist.episode/1) and write one HTML "
        "page (inline JS, no network) that replays it: isometric view, goal ghost, actions "
        "in words, reward, goal percentage, inventories.",
    )
    view.set_defaults(func=_assist_view)
    judge = systems.add_parser(
        "judge", help="MJ1: grounded multimodal judging of response pairs (data, chains, rewards)"
    )
    jverbs = judge.add_subparsers(
        dest="verb", required=True, metavar="VERB", parser_class=_VerbParser
    )
    make_bench = jverbs.add_parser(
        "make-bench",
        config="alignlab.judge._make_bench_cmd:MakeBenchConfig",
        help="write the synthetic grounded benchmark (pairs, drawn images, gold chains)",
        description="Draw simple images whose content is known (objects, colours, positions, "
        "words, bar charts, edits), pair a response consistent with them with one making a "
        "claim an image contradicts, in four families mirroring MMRB2 (t2i, edit, interleaved, "
        "reasoning); each pair carries its gold verification chain. Writes one folder: "
        "pairs.jsonl, images/, manifest.json (seed, counts, sha256).",
    )
    make_bench.set_defaults(func=_judge_make_bench)
    check_pairs = jverbs.add_parser(
        "check-pairs",
        config="alignlab.judge._check_pairs_cmd:CheckPairsConfig",
        help="load pairs in any supported layout (MMRB2, VL-RewardBench, plain, a bench) and "
        "report what is there",
        description="Read every pair (and with --open-images decode every image); print the "
        "pairs per task and the gold balance, or stop at the first bad row naming its file, "
        "line and field.",
    )
    check_pairs.set_defaults(func=_judge_check_pairs)
    jevaluate = jverbs.add_parser(
        "evaluate",
        config="alignlab.judge._evaluate_cmd:EvaluateConfig",
        help="judge every pair in both orders; MMRB2's scores with bootstrap CIs; a run folder",
        description="Ask a judge (an OpenAI-compatible server, or a scripted judge) about every "
        "pair forward and reversed, with the grounded chain prompt and/or the plain one; report "
        "MMRB2's accuracy (correct / 2N), pair accuracy, consistency, first-position preference "
        "and parse failures per task and overall with bootstrap CIs, and write MMRB2's "
        "predictions files. Records are appended as judged; --resume RUN continues a run.",
    )
    jevaluate.set_defaults(
        func=_run_verb("alignlab.judge._evaluate_cmd", "EvaluateConfig", "run_evaluate")
    )
    init_model = jverbs.add_parser(
        "init-model",
        config="alignlab.judge._init_model_cmd:InitModelConfig",
        help="build a small vision-language judge from scratch (random Qwen2.5-VL, tokenizer "
        "trained on a bench's texts)",
        description="Write a model folder: a randomly initialised Qwen2.5-VL of the width and "
        "depth asked for, its BPE tokenizer trained on the pairs' prompts, responses and gold "
        "chains, and an image processor without torchvision. judge sft, judge train and judge "
        "evaluate load it offline; the CPU-scale MJ1 recipe starts here.",
    )
    init_model.set_defaults(func=_judge_init_model)
    sft = jverbs.add_parser(
        "sft",
        config="alignlab.judge._sft_cmd:SFTConfig",
        help="supervised warm start on gold chains (or verdicts alone), both orders, TRL SFT",
        description="Fine-tune a vision-language judge to write each pair's gold verification "
        "chain (--target chain, pairs from make-bench) or its verdict alone (--target verdict), "
        "in both candidate orders, with TRL's SFTTrainer: loss on the assistant's tokens, LoRA "
        "via PEFT or every weight. Checkpoints for --resume; the model lands in RUN/model.",
    )
    sft.set_defaults(func=_run_verb("alignlab.judge._sft_cmd", "SFTConfig", "run_sft"))
    jtrain = jverbs.add_parser(
        "train",
        config="alignlab.judge._train_cmd:TrainConfig",
        help="GRPO with format, accuracy and counterfactual-consistency rewards (TRL, PEFT)",
        description="MJ1's RL stage through TRL's GRPOTrainer: each step judges whole pairs in "
        "both orders (rows interleaved, order kept) so the consistency reward compares a "
        "rollout with the rollouts of the swapped pair in the same call. Rewards weighted by "
        "--*-weight (J1's strict rule with --strict-consistency), LoRA via PEFT or every "
        "weight. Writes metrics.jsonl, a report with reward curves per reward function, "
        "checkpoints for --resume and RUN/model.",
    )
    jtrain.set_defaults(func=_run_verb("alignlab.judge._train_cmd", "TrainConfig", "run_train"))
    jcompare = jverbs.add_parser(
        "compare",
        config="alignlab.judge._compare_cmd:CompareConfig",
        help="judge evaluate runs side by side, each minus the one before with paired CIs",
        description="Read the records of judge evaluate runs on the same pairs; print "
        "accuracy, pair accuracy, consistency, position bias and parse failures per run "
        "(and prompt) with bootstrap CIs, and each run minus the one before it with paired "
        "bootstrap CIs over the pairs both judged.",
    )
    jcompare.set_defaults(func=_judge_compare)
    from alignlab.cli_drift import add_drift

    add_drift(systems, _VerbParser, _run_verb, _config_from)
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
        code = func(args)
        sys.stdout.flush()  # a reader that has gone (`| head`) shows up here at the latest
        return code
    except BrokenPipeError:
        _silence_stdout()
        return 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away
    except AlignlabError as err:
        print(f"alignlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alignlab: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at devnull, so the interpreter's final flush into the closed pipe does not
    print a second BrokenPipeError (the recipe in Python's ``signal`` module docs)."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # replaced by an in-memory stream (tests): nothing to do
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    raise SystemExit(main())
