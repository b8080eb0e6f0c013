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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from alignlab.assist._rollout_cmd import check_grid
from alignlab.assist._train_cmd import EVAL_SEED_START
from alignlab.core import bad_flag, check_at_least, check_seed, flag, track

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoints"
# flags that may change when a run is resumed (the rest must match the run's config)
RESUMABLE_CHANGES = ("resume", "env_steps", "checkpoint_every", "out")


@dataclass(frozen=True)
class PPOConfig:
    size: tuple[int, ...] = field(
        default=(6, 6, 6), metadata={"help": "grid X Y Z (Y vertical; houses need >= 5 6 5)"}
    )
    goals: str = field(
        default="house",
        metadata={
            "help": "training goals: house, blob (a bank generated from --seed) or a bank .npz"
        },
    )
    bank_size: int = field(
        default=1000, metadata={"help": "goals in the generated training bank (>= 1)"}
    )
    horizon: int = field(default=100, metadata={"help": "steps per episode (>= 1)"})
    env_steps: int = field(
        default=100_000, metadata={"help": "joint env steps to train for (>= 1)"}
    )
    human: str = field(
        default="heuristic",
        metadata={
            "help": "simulated human to train against: heuristic (β 5, no mistakes) or "
            "bc:PATH, a behaviour-cloned model from 'assist train-human' for this grid; "
            "fixed for the run (not changed on --resume)"
        },
    )
    envs: int = field(default=16, metadata={"help": "games played in parallel (>= 1)"})
    rollout: int = field(
        default=64, metadata={"help": "steps each game plays between PPO updates (>= 1)"}
    )
    epochs: int = field(default=4, metadata={"help": "passes over each rollout (>= 1)"})
    minibatches: int = field(
        default=4, metadata={"help": "minibatches per pass; must divide envs x rollout"}
    )
    width: int = field(default=32, metadata={"help": "backbone channels (paper: 64)"})
    depth: int = field(default=2, metadata={"help": "residual blocks (paper: 8)"})
    kernel: int = field(default=3, metadata={"help": "3D-conv kernel size, odd (paper: 5)"})
    lr: float = field(default=3e-4, metadata={"help": "Adam learning rate (> 0)"})
    max_grad_norm: float = field(
        default=0.5, metadata={"help": "clip gradients to this global norm (> 0)"}
    )
    gamma: float = field(default=0.95, metadata={"help": "discount per step, in [0, 1]"})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE lambda, in [0, 1]"})
    clip: float = field(default=0.2, metadata={"help": "PPO ratio clip epsilon (> 0)"})
    ent_coef: float = field(default=0.01, metadata={"help": "entropy bonus weight (>= 0)"})
    vf_coef: float = field(default=0.5, metadata={"help": "value loss weight (>= 0)"})
    goal_coef: float = field(
        default=1.0, metadata={"help": "goal-prediction auxiliary loss weight (>= 0)"}
    )
    checkpoint_every: int = field(
        default=20, metadata={"help": "iterations between checkpoints (>= 1)"}
    )
    resume: str = field(default="", metadata={"help": "a run folder of this command to continue"})
    seed: int = field(default=0, metadata={"help": "seed for goals, init and play"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})

    def __post_init__(self) -> None:
        """Reject values that would crash or train nothing; each error names its flag."""
        from alignlab.assist._human_model import check_human_flag
        from alignlab.core import check_out_dir

        check_human_flag(self.human)
        if self.goals not in ("house", "blob") and not self.goals.endswith(".npz"):
            bad_flag("goals", f"unknown goals '{self.goals}'; use house, blob or FILE.npz")
        check_grid(self.size, self.goals if self.goals in ("house", "blob") else "")
        for name, low, what in (
            ("bank_size", 1, "goals in the bank"),
            ("horizon", 1, "steps per episode"),
            ("env_steps", 1, "env steps"),
            ("envs", 1, "parallel games"),
            ("rollout", 1, "steps per rollout"),
            ("epochs", 1, "passes per rollout"),
            ("minibatches", 1, "minibatches per pass"),
            ("width", 1, "channels"),
            ("depth", 1, "residual blocks"),
            ("kernel", 1, "kernel size"),
            ("checkpoint_every", 1, "iterations"),
        ):
            check_at_least(getattr(self, name), low, name, what)
        if self.kernel % 2 == 0:
            bad_flag("kernel", f"--kernel must be odd (same padding), not {self.kernel}")
        if (self.envs * self.rollout) % self.minibatches:
            bad_flag(
                "minibatches",
                f"--minibatches {self.minibatches} must divide --envs x --rollout "
                f"({self.envs * self.rollout} steps per iteration)",
            )
        self._check_numbers()
        if self.seed >= EVAL_SEED_START:
            bad_flag(
                "seed",
                f"--seed must be below {EVAL_SEED_START:,}: seeds from there on generate the "
                "held-out evaluation goals",
            )
        check_seed(self.seed)
        check_out_dir(self.out)

    def _check_numbers(self) -> None:
        for name, low, high, low_open in (
            ("lr", 0.0, math.inf, True),
            ("max_grad_norm", 0.0, math.inf, True),
            ("clip", 0.0, math.inf, True),
            ("gamma", 0.0, 1.0, False),
            ("gae_lambda", 0.0, 1.0, False),
            ("ent_coef", 0.0, math.inf, False),
            ("vf_coef", 0.0, math.inf, False),
            ("goal_coef", 0.0, math.inf, False),
        ):
            v = getattr(self, name)
            ok = math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
            if not ok:
                where = f"> {low:g}" if low_open else f">= {low:g}"
                where = f"in [{low:g}, {high:g}]" if math.isfinite(high) else where
                bad_flag(name, f"{flag(name)} must be a finite number {where}, not {v}")

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
    from alignlab.assist._train import training_goals
    from alignlab.core import (
        Run,
        latest_checkpoint,
        load_checkpoint,
        resumed_config,
        save_checkpoint,
    )

    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
    env, net = _configs(cfg)
    human = load_human(cfg.human, env)  # a BC model for another grid fails before the run
    # training_goals reads only goals, bank_size and seed, which PPOConfig shares
    bank = jnp.asarray(training_goals(cast(Any, cfg), env))
    meta = model_meta(env, net)
    if cfg.resume:
        run = Run.resume(cfg.resume, cfg, allowed=RESUMABLE_CHANGES, extend=True)
    else:
        run = Run("assist", "train-ppo", cfg, root=cfg.out, resumable=True)
    with run:
        ckpt_dir = run.dir / CHECKPOINT_DIR
        loop = _Loop(cfg, env, net, bank, human)
        last = latest_checkpoint(ckpt_dir)
        if last is not None:
            loop.restore(load_checkpoint(last, like=loop.tree(0), meta=meta).tree)
        run.truncate_metrics(loop.env_steps)
        iters = range(loop.iteration, cfg.iterations)
        for it in track(iters, total=len(iters), desc="assist train-ppo"):
            row = loop.step()  # advances loop.env_steps
            run.log_metrics(loop.env_steps, row)
            if (it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iterations:
                save_checkpoint(ckpt_dir, it + 1, loop.tree(it + 1), meta)
        save_checkpoint(run.dir / MODEL_DIR, loop.env_steps, loop.params, meta, keep=1)
        from alignlab.assist._ppo_report import write_report

        write_report(run, cfg)
    return run.dir


def _configs(cfg: PPOConfig) -> tuple[Any, Any]:
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._net import NetConfig

    env = EnvConfig(size=tuple(cfg.size), horizon=cfg.horizon)  # type: ignore[arg-type]
    return env, NetConfig(width=cfg.width, depth=cfg.depth, kernel=cfg.kernel)


def model_meta(env: Any, net: Any) -> dict[str, Any]:
    """The metadata of checkpoints and ``model/``: ``env`` and ``net`` laid out as
    ``assist train``'s (so the network can be rebuilt), and ``algorithm: "ppo"``."""
    from alignlab.assist._train import _asdict

    return {"env": _asdict(env), "net": _asdict(net), "algorithm": "ppo"}


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
        self.iteration, self.env_steps = 0, 0
        self.collect = make_collect(env, net, cfg.hyper, human)
        self.update = make_update(env, net, cfg.hyper)

    def step(self) -> dict[str, Any]:
        """One rollout and its PPO epochs; the ``metrics.jsonl`` row."""
        import jax

        from alignlab.assist._train import _iteration_row

        t0 = time.perf_counter()
        self.key, k_play, k_upd = jax.random.split(self.key, 3)
        self.actors, batch, eps = self.collect(self.params, self.actors, self.bank, k_play)
        self.params, self.opt_state, m = self.update(self.params, self.opt_state, batch, k_upd)
        played = self.cfg.envs * self.cfg.rollout
        self.iteration += 1
        self.env_steps += played
        return _iteration_row([m], eps, played / (time.perf_counter() - t0))

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
        self.iteration, self.env_steps = int(tree["iteration"]), int(tree["env_steps"])
