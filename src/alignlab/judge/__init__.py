"""MJ1-style grounded multimodal judging (arXiv 2603.07990): judge pairs, the verification
chain, reward functions, SFT and GRPO training (TRL), and the data they run on — the pair
record, loaders for MMRB2 (arXiv 2512.16899), VL-RewardBench and plain jsonl, and a synthetic
grounded benchmark whose pictures are drawn so every answer, and every pair's gold chain, is
known. Formats, the generator and the training recipe: ``docs/judge.md``.

Names load lazily (on first use), so importing this package imports neither PIL nor the model
backends.
"""

from __future__ import annotations

import importlib

_LAZY = {
    # the record
    "Pair": "_pair", "Segment": "_pair", "swapped": "_pair", "image_order": "_pair",
    # loaders
    "load_pairs": "_loaders", "load_plain_jsonl": "_loaders", "load_vlrewardbench": "_loaders",
    "load_mmrb2_json": "_loaders_mmrb2", "load_mmrb2_hf": "_loaders_mmrb2",
    "pairs_from_hf_rows": "_loaders_mmrb2",
    # gold chains as data
    "Fact": "_gold", "GoldChain": "_gold", "render_gold_chain": "_gold",
    # the synthetic benchmark
    "FAMILIES": "_synth_bench", "generate_pairs": "_synth_bench", "write_bench": "_synth_bench",
    "verify_bench": "_synth_bench", "MakeBenchConfig": "_make_bench_cmd",
    "run_make_bench": "_make_bench_cmd",
    # the chain's text format, the judge's prompts, parsing and rewards
    "ChainFormat": "_chain", "DEFAULT_FORMAT": "_chain", "Chain": "_chain",
    "Observation": "_chain", "Claim": "_chain", "Verification": "_chain",
    "underlying_preference": "_chain", "FormatError": "_parse",
    "render_chain": "_chain", "chain_messages": "_chain", "baseline_messages": "_chain",
    "parse_chain": "_parse", "parse_verdict": "_parse", "ParsedChain": "_parse",
    "RewardConfig": "_rewards", "make_format_reward": "_rewards",
    "make_accuracy_reward": "_rewards", "make_consistency_reward": "_rewards",
    "make_judge_reward": "_rewards", "check_reward_fn": "_rewards",
    # evaluation: both orders, MMRB2's scores, scripted judges
    "Verdict": "_judge_metrics", "judge_metrics": "_judge_metrics",
    "ScriptedJudge": "_scripted", "EvaluateConfig": "_evaluate_cmd",
    "run_evaluate": "_evaluate_cmd", "CompareConfig": "_compare_cmd",
    "compare_evaluations": "_compare_cmd", "run_compare": "_compare_cmd",
    # training: a judge from scratch, SFT warm start, GRPO
    "training_rows": "_train_rows", "InitModelConfig": "_init_model_cmd",
    "run_init_model": "_init_model_cmd", "SFTConfig": "_sft_cmd", "run_sft": "_sft_cmd",
    "TrainConfig": "_train_cmd", "run_train": "_train_cmd",
    "reward_functions": "_train_cmd",
}  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f"alignlab.judge.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alignlab.judge' has no attribute '{name}'")


__all__ = list(_LAZY)
