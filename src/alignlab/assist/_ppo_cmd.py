"""``alignlab assist train-ppo``: the PPO assistant baseline of AssistanceZero (arXiv
2504.07091) — a goal-masked policy with a goal-prediction auxiliary loss, trained against the
simulated human (``--human``: the heuristic, or a behaviour-cloned one) on the same env-step
budget as ``assist train``.

One loop, cleanrl-style: each iteration plays ``--rollout`` steps in ``--envs`` games with the
policy sampling from its masked logits (``_ppo.make_collect``: GAE inside), then makes
``--epochs`` passes of ``--minibatches`` clipped-PPO steps over them (``_ppo.make_update``).
The run folder is resumable (``core.Run``): ``metrics.jsonl`` gets one line per iteration,
the whole training state (parameters, optimiser state, the games in progress, RNG key,
counters) is checkpointed every ``--checkpoint-every`` iterations, and ``--resume RUN``
continues from the newest checkpoint (or trains a finished run longer with a larger
``--env-steps``). The trained policy is ``model/``, played greedily by ``ppo:RUN`` in
``alignlab assist evaluate`` (``_ppo.load_ppo``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.assist._model_files import CHECKPOINT_DIR, config_dict, save_model
from alignlab.assist._train_flags import (
    check_numbers,
    check_run_flags,
    check_trainer_flags,
    env_and_net,
    human_option,
    option,
    shared,
    training_bank,
)
from alignlab.assist._trainer_loop import iteration_row, open_run, run_iterations
from alignlab.core import bad_flag

# flags that may change when a run is resumed (the rest must match the run's config)
RESUMABLE_CHANGES = ("resume", "env_steps", "checkpoint_every", "out")


@dataclass(frozen=True)
class PPOConfig:
    size: tuple[int, ...] = shared("size")
    goals: str = shared("goals")
    bank_size: int = shared("bank_size")
    horizon: int = shared("horizon")
    env_steps: int = option(100_000, "joint env steps to train for (>= 1)", (1, "env steps"))
    human: str = human_option("to train against")
    envs: int = shared("envs")
    rollout: int = option(
        64, "steps each game plays between PPO updates (>= 1)", (1, "steps per rollout")
    )
    epochs: int = option(4, "passes over each rollout (>= 1)", (1, "passes per rollout"))
    minibatches: int = option(
        4, "minibatches per pass; must divide envs x rollout", (1, "minibatches per pass")
    )
    width: int = shared("width")
    depth: int = shared("depth")
    kernel: int = shared("kernel")
    lr: float = shared("lr", default=3e-4)
    max_grad_norm: float = option(0.5, "clip gradients to this global norm (> 0)")
    gamma: float = option(0.95, "discount per step, in [0, 1]")
    gae_lambda: float = option(0.95, "GAE lambda, in [0, 1]")
    clip: float = option(0.2, "PPO ratio clip epsilon (> 0)")
    ent_coef: float = option(0.01, "entropy bonus weight (>= 0)")
    vf_coef: float = option(0.5, "value loss weight (>= 0)")
    goal_coef: float = option(1.0, "goal-prediction auxiliary loss weight (>= 0)")
    checkpoint_every: int = option(20, "iterations between checkpoints (>= 1)", (1, "iterations"))
    resume: str = shared("resume")
    seed: int = shared("seed")
    out: str = shared("out")

    def __post_init__(self) -> None:
        """Reject values that would crash or train nothing; each error names its flag."""
        check_trainer_flags(self)
        if (self.envs * self.rollout) % self.minibatches:
            bad_flag(
                "minibatches",
                f"--minibatches {self.minibatches} must divide --envs x --rollout "
                f"({self.envs * self.rollout} steps per iteration)",
            )
        check_numbers(
            self,
            (
                ("lr", 0.0, math.inf, True),
                ("max_grad_norm", 0.0, math.inf, True),
                ("clip", 0.0, math.inf, True),
                ("gamma", 0.0, 1.0, False),
                ("gae_lambda", 0.0, 1.0, False),
                ("ent_coef", 0.0, math.inf, False),
                ("vf_coef", 0.0, math.inf, False),
                ("goal_coef", 0.0, math.inf, False),
            ),
        )
        check_run_flags(self)

    @property
    def hyper(self) -> Any:
        """The ``_ppo.PPOHyper`` these flags set."""
        from alignlab.assist._ppo import PPOHyper

        names = [f.name for f in dataclasses.fields(PPOHyper)]
        return PPOHyper(**{n: getattr(self, n) for n in names})

    @property
    def iterations(self) -> int:
        """PPO iterations, each ``envs × rollout`` env steps."""
        return max(1, math.ceil(self.env_steps / (self.envs * self.rollout)))


def run_ppo(cfg: PPOConfig) -> Path:
    """Train the PPO assistant (resuming ``cfg.resume`` if given); returns the run folder."""
    import jax.numpy as jnp

    from alignlab.assist._human_model import load_human
    from alignlab.assist._ppo_report import write_report
    from alignlab.core import latest_checkpoint, load_checkpoint, resumed_config

    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
    env, net = env_and_net(cfg)
    human = load_human(cfg.human, env)  # a BC model for another grid fails before the run
    bank = jnp.asarray(training_bank(cfg.goals, cfg.bank_size, env.size, cfg.seed))
    meta = model_meta(env, net)
    with open_run("train-ppo", cfg, RESUMABLE_CHANGES, extend=True) as run:
        loop = _Loop(cfg, env, net, bank, human)
        last = latest_checkpoint(run.dir / CHECKPOINT_DIR)
        if last is not None:
            loop.restore(load_checkpoint(last, like=loop.tree(0), meta=meta).tree)
        run.truncate_metrics(loop.env_steps)
        run_iterations(run, loop, loop.iterations_done, cfg, meta, "assist train-ppo")
        save_model(run.dir, loop.env_steps, loop.params, meta, "train-ppo")
        write_report(run, cfg)
    return run.dir


def model_meta(env: Any, net: Any) -> dict[str, Any]:
    """The metadata of checkpoints and ``model/``: ``env`` and ``net`` laid out as
    ``assist train``'s (so the network can be rebuilt), and ``algorithm: "ppo"``."""
    return {"env": config_dict(env), "net": config_dict(net), "algorithm": "ppo"}


class _Loop:
    """The training state between iterations and one iteration (rollout + PPO epochs)."""

    def __init__(self, cfg: PPOConfig, env: Any, net: Any, bank: Any, human: Any) -> None:
        import jax

        from alignlab.assist._net import init_params
        from alignlab.assist._ppo import make_collect, make_ppo_optimizer, make_update
        from alignlab.assist._selfplay import start_actors

        self.cfg, self.bank = cfg, bank
        k_init, k_actors, self.key = jax.random.split(jax.random.PRNGKey(cfg.seed), 3)
        self.params = init_params(net, env, k_init)
        self.opt_state = make_ppo_optimizer(cfg.hyper).init(self.params)
        self.actors = start_actors(env, k_actors, bank, cfg.envs)
        self.iterations_done, self.env_steps = 0, 0
        self.collect = make_collect(env, net, cfg.hyper, human)
        self.update = make_update(env, net, cfg.hyper)

    def iteration(self) -> dict[str, Any]:
        """One rollout and its PPO epochs; the ``metrics.jsonl`` row."""
        import jax

        t0 = time.perf_counter()
        self.key, k_play, k_upd = jax.random.split(self.key, 3)
        self.actors, batch, eps = self.collect(self.params, self.actors, self.bank, k_play)
        self.params, self.opt_state, m = self.update(self.params, self.opt_state, batch, k_upd)
        played = self.cfg.envs * self.cfg.rollout
        self.iterations_done += 1
        self.env_steps += played
        return iteration_row([m], eps, played / (time.perf_counter() - t0))

    def tree(self, iteration: int) -> dict[str, Any]:
        """The whole training state, as checkpointed."""
        import jax.numpy as jnp

        return {
            "params": self.params,
            "opt_state": self.opt_state,
            "actors": self.actors,
            "key": self.key,
            "iteration": jnp.int32(iteration),
            "env_steps": jnp.int32(self.env_steps),
        }

    def restore(self, tree: dict[str, Any]) -> None:
        self.params, self.opt_state = tree["params"], tree["opt_state"]
        self.actors, self.key = tree["actors"], tree["key"]
        self.iterations_done = int(tree["iteration"])
        self.env_steps = int(tree["env_steps"])
