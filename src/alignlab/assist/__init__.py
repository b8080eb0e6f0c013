"""AssistanceZero (arXiv 2504.07091): the Minecraft-like building assistance game (MBAG) as
pure JAX functions, goal generators, simulated humans, standard-API adapters; the
goal-inferring assistant (network, mctx search, self-play training), its baselines (PPO,
pretraining + SFT, goal-visible) and the evaluation that compares them. Layouts, rules and
recipes: ``docs/assist.md``.

Names load lazily (on first use), so importing this package does not import JAX.
"""

from __future__ import annotations

import importlib

from alignlab.assist._layout import BLOCK_NAMES, EnvConfig, n_actions

_LAZY = {
    # the game: pure functions over a frozen State
    "State": "_env", "init": "_env", "step": "_env", "observe": "_env",
    "legal_action_mask": "_env", "legal_masks": "_env", "goal_percentage": "_env",
    "encode_action": "_env", "decode_action": "_env", "validate_goal": "_env",
    "LegalMasks": "_env", "packed_masks": "_env", "unpack_masks": "_env",
    "observe_inventory": "_env",
    # ids of the original MBAG's flat layout and of its conformance fixture (numpy, no JAX)
    "to_mbag": "_mbag_ids", "from_mbag": "_mbag_ids", "mbag_n_actions": "_mbag_ids",
    "vector_to_mbag": "_mbag_ids", "vector_from_mbag": "_mbag_ids",
    "to_fixture_layout": "_mbag_ids", "from_fixture_layout": "_mbag_ids",
    "fixture_n_actions": "_mbag_ids",
    # goals
    "random_blob": "_goals", "house": "_houses", "load_house_folder": "_craftassist",
    "GoalBank": "_goal_bank", "build_goal_bank": "_goal_bank", "save_goal_bank": "_goal_bank",
    "load_goal_bank": "_goal_bank", "sample_goals": "_goal_bank",
    # simulated humans
    "HeuristicParams": "_humans", "heuristic_logits": "_humans", "heuristic_policy": "_humans",
    "record_heuristic": "_bc", "train_bc": "_bc", "bc_logits": "_bc", "load_bc": "_bc",
    # standard APIs and looking at games
    "MbagParallelEnv": "_adapters", "MbagAssistantEnv": "_adapters",
    "MbagVectorAssistantEnv": "_adapters", "text_slices": "_render", "save_png": "_render",
    "episode_json": "_render", "replay": "_render", "episode_html": "_viewer",
    "save_episode_html": "_viewer", "load_episode": "_viewer",
    # the assistant: network, search, training, baselines
    "NetConfig": "_net", "NetOut": "_net", "init_params": "_net", "apply": "_net",
    "assistant_input": "_net", "SearchConfig": "_search", "SearchOut": "_search",
    "search": "_search", "make_search": "_search", "TrainConfig": "_train_cmd",
    "run_train": "_train_cmd", "load_assistant": "_train", "PPOConfig": "_ppo_cmd",
    "run_ppo": "_ppo_cmd", "SFTConfig": "_sft_cmd", "run_sft": "_sft_cmd",
    # evaluation: pluggable assistants, goal sets and hand-written goal files
    "Assistant": "_rollout", "register_assistant": "_rollout", "evaluate": "_evaluate",
    "load_goal_file": "_goal_file", "save_goal_file": "_goal_file",
}  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f"alignlab.assist.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alignlab.assist' has no attribute '{name}'")


__all__ = ["BLOCK_NAMES", "EnvConfig", "n_actions", *_LAZY]
