"""``alignlab assist train``: AssistanceZero self-play training (arXiv 2504.07091).

One loop, cleanrl-style: each iteration plays a fragment of ``--fragment`` steps in
``--envs`` games (``_selfplay``: the assistant searches, the ``--human`` plays), adds the
fragment to the replay buffer (``_replay``), and makes ``--updates`` learner steps
(``_learner``). The run folder is resumable (``core.Run``): ``metrics.jsonl`` gets one line
per iteration while training runs, the whole training state (parameters, optimiser state,
replay buffer and cursor, the games in progress, RNG key, counters) is checkpointed every
``--checkpoint-every`` iterations, and ``--resume RUN`` continues from the newest checkpoint
after a crash or ``kill -9`` (losing at most one interval). The trained assistant is
``model/``, read by ``load_assistant`` (and ``alignlab assist evaluate``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from alignlab.assist._model_files import CHECKPOINT_DIR, Model, config_dict, save_model
from alignlab.assist._train_cmd import RESUMABLE_CHANGES, TrainConfig
from alignlab.assist._trainer_loop import iteration_row, open_run, run_iterations
from alignlab.core import AlignlabError, track


class Setup(NamedTuple):
    env: Any  # EnvConfig
    net: Any  # NetConfig
    search: Any  # SearchConfig


def setup(cfg: TrainConfig) -> Setup:
    from alignlab.assist._search import SearchConfig
    from alignlab.assist._train_flags import env_and_net

    env, net = env_and_net(cfg, cfg.goal_visible)
    search = SearchConfig(
        num_simulations=cfg.simulations,
        max_num_considered_actions=cfg.considered,
        goal_visible=cfg.goal_visible,
    )
    return Setup(env, net, search)


def training_goals(cfg: TrainConfig, env_cfg: Any) -> np.ndarray:
    """The training bank of ``cfg`` for grid ``env_cfg.size`` (``_train_flags.training_bank``)."""
    from alignlab.assist._train_flags import training_bank

    return training_bank(cfg.goals, cfg.bank_size, env_cfg.size, cfg.seed)


def _meta(cfg: TrainConfig, s: Setup) -> dict[str, Any]:
    """What a checkpoint must agree with to be loaded into this run."""
    return {
        "env": config_dict(s.env),
        "net": config_dict(s.net),
        "search": config_dict(s.search),
        "replay": cfg.replay,
        "envs": cfg.envs,
    }


def fresh_state(cfg: TrainConfig, s: Setup, bank: Any) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    from alignlab.assist._learner import make_optimizer
    from alignlab.assist._net import init_params
    from alignlab.assist._replay import replay_init
    from alignlab.assist._selfplay import Item, start_actors

    key = jax.random.PRNGKey(cfg.seed)
    k_init, k_actors, key = jax.random.split(key, 3)
    params = init_params(s.net, s.env, k_init)
    opt_state = make_optimizer(cfg.lr).init(params)
    actors = start_actors(s.env, k_actors, bank, cfg.envs)
    one = jax.tree.map(lambda x: x[0], actors.states)
    a = s.env.n_actions
    example = Item(one, jnp.zeros(a, jnp.float16), jnp.zeros(a, jnp.float16), jnp.float32(0))
    return {
        "params": params,
        "opt_state": opt_state,
        "replay": replay_init(example, cfg.replay),
        "actors": actors,
        "key": key,
        "iteration": jnp.int32(0),
        "env_steps": jnp.int32(0),
    }


def run_train(cfg: TrainConfig) -> Path:
    import jax.numpy as jnp

    from alignlab.assist._human_model import load_human
    from alignlab.core import latest_checkpoint, load_checkpoint, resumed_config, save_checkpoint

    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
    s = setup(cfg)
    human = load_human(cfg.human, s.env)  # a BC model for another grid fails before the run
    bank = jnp.asarray(training_goals(cfg, s.env))
    meta = _meta(cfg, s)
    with open_run("train", cfg, RESUMABLE_CHANGES, extend=True) as run:
        state = fresh_state(cfg, s, bank)
        last = latest_checkpoint(run.dir / CHECKPOINT_DIR)
        if last is not None:
            state, _, _ = load_checkpoint(last, like=state, meta=meta)
        run.truncate_metrics(int(state["env_steps"]))
        if last is None and cfg.pretrain_steps:
            state = _pretrain_heads(cfg, s, bank, state, run, human)
            save_checkpoint(run.dir / CHECKPOINT_DIR, 0, state, meta)
        loop = _Loop(cfg, s, bank, state, human)
        try:
            run_iterations(run, loop, int(state["iteration"]), cfg, meta, "assist train")
        finally:
            loop.close()
        save_model(run.dir, loop.env_steps, loop.params, meta, "train")
        _report(run, cfg)
    return run.dir


def _pretrain_heads(
    cfg: TrainConfig, s: Setup, bank: Any, state: dict[str, Any], run: Any, human: Any
) -> Any:
    """``state`` after ``_pretrain``: the goal and human heads trained on the human building
    alone for ``cfg.pretrain_steps`` env steps, which count in ``env_steps``; metrics rows
    with ``"phase": "pretrain"``."""
    import jax
    import jax.numpy as jnp

    from alignlab.assist._learner import make_optimizer
    from alignlab.assist._pretrain import collect_human_play, pretrain, pretrain_updates

    k_play, k_train = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 1))
    steps = collect_human_play(s.env, bank, cfg.pretrain_steps, cfg.envs, k_play, human)
    played = int(steps.action.shape[0])
    n = pretrain_updates(played, cfg.pretrain_epochs, cfg.batch_size)
    every = max(1, n // 20)
    params, opt_state, window = state["params"], state["opt_state"], []
    trained = pretrain(
        s.env, s.net, make_optimizer(cfg.lr), params, opt_state, steps, n, cfg.batch_size, k_train
    )
    keep = ("loss/goal", "loss/human", "goal_acc_todo")
    for i, out in enumerate(track(trained, total=n, desc="pretrain heads")):
        params, opt_state, m = out
        window.append(m)
        if (i + 1) % every == 0 or i + 1 == n:
            row = {k: float(np.mean([w[k] for w in window])) for k in keep}
            run.log_metrics(round(played * (i + 1) / n), {"phase": "pretrain", **row})
            window = []
    return {**state, "params": params, "opt_state": opt_state, "env_steps": jnp.int32(played)}


class _Loop:
    """The training state between iterations and one iteration of play + updates."""

    def __init__(
        self, cfg: TrainConfig, s: Setup, bank: Any, state: dict[str, Any], human: Any = None
    ) -> None:
        import jax

        from alignlab.assist._human_model import load_human
        from alignlab.assist._learner import LossWeights, make_optimizer, make_update
        from alignlab.assist._replay import replay_sample
        from alignlab.assist._selfplay import make_collect

        self.cfg, self.bank = cfg, bank
        self.params, self.opt_state = state["params"], state["opt_state"]
        self.replay, self.actors, self.key = state["replay"], state["actors"], state["key"]
        self.env_steps = int(state["env_steps"])
        human = human if human is not None else load_human(cfg.human, s.env)
        self.collect = make_collect(s.env, s.net, s.search, cfg.fragment, human=human)
        self.update = make_update(s.env, s.net, LossWeights(), make_optimizer(cfg.lr))
        self.sample = jax.jit(replay_sample, static_argnums=2)
        self.pool = None
        if cfg.workers:
            from alignlab.assist._workers import WorkerPool

            self.pool = WorkerPool(cfg.workers, cfg)

    def iteration(self) -> dict[str, Any]:
        """Play one fragment (here or on the workers), add it, update; the metrics row."""
        import jax

        from alignlab.assist._replay import replay_add

        t0 = time.perf_counter()
        self.key, k_play, k_upd = jax.random.split(self.key, 3)
        per_iter = self.cfg.envs * self.cfg.fragment
        if self.pool is None:
            self.actors, items, eps = self.collect(self.params, self.actors, self.bank, k_play)
            played = per_iter
        else:
            items, eps, live = self.pool.play(self.params, k_play)
            played = per_iter * live
        self.replay = replay_add(self.replay, items)
        self.env_steps += played
        parts: list[dict[str, Any]] = []
        for k in jax.random.split(k_upd, self.cfg.updates):
            batch = self.sample(self.replay, k, self.cfg.batch_size)
            self.params, self.opt_state, m = self.update(self.params, self.opt_state, batch)
            parts.append(m)
        return iteration_row(parts, eps, played / (time.perf_counter() - t0))

    def tree(self, iteration: int) -> dict[str, Any]:
        """The whole training state, as checkpointed."""
        import jax.numpy as jnp

        return {
            "params": self.params,
            "opt_state": self.opt_state,
            "replay": self.replay,
            "actors": self.actors,
            "key": self.key,
            "iteration": jnp.int32(iteration),
            "env_steps": jnp.int32(self.env_steps),
        }

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _report(run: Any, cfg: TrainConfig) -> None:
    from alignlab.assist._train_report import write_report

    write_report(run, cfg)


def load_assistant(
    path: str | Path, trainers: tuple[str, ...] = ("train", "train-sft")
) -> tuple[Setup, Any]:
    """``(setup, params)`` of a trained assistant: a run folder, its ``model/`` folder, or a
    checkpoint file in it, written by one of ``trainers`` (``assist train``, and
    ``train-sft``, which saves its network in the same layout).

    Raises:
        AlignlabError: nothing trained there, or a model of another trainer (naming it).
    """
    from alignlab.assist._model_files import load_params, read_model

    model = read_model(path, trainers)
    return assistant_setup(model), load_params(model)


def assistant_setup(model: Model) -> Setup:
    """The ``Setup`` of a model in ``assist train``'s layout (its metadata holds the search
    config too).

    Raises:
        AlignlabError: no search config in the metadata.
    """
    from alignlab.assist._search import SearchConfig

    try:
        search = SearchConfig(**model.meta["search"])
    except (KeyError, TypeError) as exc:
        raise AlignlabError(
            f"not an assistant model ({exc})", file=str(model.file), field="meta"
        ) from None
    return Setup(model.env, model.net, search)
