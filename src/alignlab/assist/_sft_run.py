"""``alignlab assist train-sft``: the "pretraining + SFT" baseline's run (arXiv 2504.07091).

Stage by stage (``pretrain``, then ``sft`` when ``--expert`` is given): generate the stage's
data (``_sft.make_collect``: ``--pretrain-steps`` / ``--sft-steps`` joint env steps, counted
as the assistants' training budget is), then ``--epochs`` passes of Adam over it. An eighth
of the games (at least one) play on goals from the last eighth of the goal bank (at least
one goal) and are held out: the per-epoch held-out accuracy measures cloning on unseen
goals. The SFT stage starts from the pretrained network with a fresh Adam state.

The run is resumable (``core.Run``): ``metrics.jsonl`` gets one row per epoch (``step`` =
epochs done over both stages), the training state is checkpointed after every epoch, and
``--resume RUN`` continues after the last finished epoch, regenerating the current stage's
data from the seed (play is deterministic). ``pretrained/`` holds the network after
pretraining, ``model/`` the final one, both in ``assist train``'s model layout
(``_train.load_assistant`` rebuilds them; ``sft:RUN`` plays them).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.assist._model_files import CHECKPOINT_DIR, MODEL_DIR, config_dict, save_model
from alignlab.assist._sft_cmd import RESUMABLE_CHANGES, SFTConfig, check_expert
from alignlab.assist._train_flags import env_and_net, training_bank
from alignlab.assist._trainer_loop import open_run
from alignlab.core import resumed_config, track

PRETRAINED_DIR = "pretrained"
VAL_SHARE = 8  # 1/8 of the games (>= 1), on 1/8 of the goals (>= 1), are held out
_CHUNK = 32  # steps per jitted data call (a progress tick)


def model_meta(cfg: SFTConfig, env: Any, net: Any) -> dict[str, Any]:
    """``assist train``'s model metadata (env, net, search, replay, envs) plus ``trainer``."""
    from alignlab.assist._search import SearchConfig

    return {
        "env": config_dict(env),
        "net": config_dict(net),
        "search": config_dict(SearchConfig()),
        "replay": 0,
        "envs": cfg.envs,
        "trainer": "train-sft",
    }


def run_sft(cfg: SFTConfig) -> Path:
    import jax
    import jax.numpy as jnp

    from alignlab.assist._human_model import load_human
    from alignlab.assist._learner import make_optimizer
    from alignlab.assist._net import init_params
    from alignlab.core import AlignlabError, latest_checkpoint, load_checkpoint

    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
    expert = check_expert(cfg)  # flag errors before any work
    env, net = env_and_net(cfg)
    human = load_human(cfg.human, env)  # a BC model for another grid fails before the run
    bank = training_bank(cfg.goals, cfg.bank_size, env.size, cfg.seed)
    if len(bank) < 2:
        raise AlignlabError("the goal bank needs >= 2 goals (one is held out)", field="goals")
    meta = {**model_meta(cfg, env, net), "stages": list(cfg.stages), "epochs": cfg.epochs}
    with open_run("train-sft", cfg, RESUMABLE_CHANGES, extend=False) as run:
        key = jax.random.PRNGKey(cfg.seed)
        opt = make_optimizer(cfg.lr)
        params = init_params(net, env, jax.random.fold_in(key, 0))
        tree = {"params": params, "opt_state": opt.init(params), "epoch": jnp.int32(0)}
        last = latest_checkpoint(run.dir / CHECKPOINT_DIR)
        if last is not None:
            tree = load_checkpoint(last, like=tree, meta=meta).tree
        run.truncate_metrics(int(tree["epoch"]))
        for i, stage in enumerate(cfg.stages):
            if int(tree["epoch"]) < (i + 1) * cfg.epochs:
                players = (human, expert)
                tree = _stage(cfg, run, env, net, stage, i, jnp.asarray(bank), players, tree, meta)
        _save_model(run.dir, MODEL_DIR, tree, meta)
        from alignlab.assist._sft_report import write_report

        write_report(run, cfg)
    return run.dir


def _save_model(run_dir: Path, folder: str, tree: dict[str, Any], meta: dict[str, Any]) -> None:
    save_model(run_dir, int(tree["epoch"]), tree["params"], meta, "train-sft", folder)


def _stage(
    cfg: SFTConfig,
    run: Any,
    env: Any,
    net: Any,
    stage: str,
    index: int,
    bank: Any,
    players: tuple[Any, Any],
    tree: dict[str, Any],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Generate the stage's data with ``players`` (the simulated human, the expert or None),
    train the rest of its epochs; the new training state."""
    import jax
    import jax.numpy as jnp

    from alignlab.assist._learner import make_optimizer
    from alignlab.assist._sft import ACTOR, make_eval, make_update
    from alignlab.core import save_checkpoint

    steps = cfg.pretrain_steps if stage == "pretrain" else cfg.sft_steps
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 1 + index)
    train, val, info = generate(cfg, env, stage, bank, players, key, steps)
    opt = make_optimizer(cfg.lr)
    start = index * cfg.epochs
    params, opt_state = tree["params"], tree["opt_state"]
    if int(tree["epoch"]) == start:
        opt_state = opt.init(params)  # each stage starts Adam afresh
    player = jnp.int32(ACTOR[stage])
    upd, ev = make_update(env, net, cfg.goal_weight, cfg.lr), make_eval(env, net)

    def update(params: Any, opt_state: Any, batch: Any) -> Any:
        return upd(params, opt_state, batch, player)

    def evaluate(params: Any, batch: Any, w: Any) -> Any:
        return ev(params, batch, w, player)

    info["val/majority"] = _majority(train.action, val.action)
    for epoch in range(int(tree["epoch"]), start + cfg.epochs):
        row: dict[str, Any] = {"stage": stage, "epoch": epoch - start + 1, **info}
        if epoch == start and index > 0:  # the pretrained network on the expert's steps
            row["val/accuracy_start"] = held_out(evaluate, params, val, cfg.batch_size)["accuracy"]
        rng = np.random.default_rng([cfg.seed, index, epoch])
        params, opt_state, parts = train_epoch(update, params, opt_state, train, cfg, rng)
        row.update(parts)
        scores = held_out(evaluate, params, val, cfg.batch_size)
        row.update({f"val/{k}": v for k, v in scores.items()})
        run.log_metrics(epoch + 1, row)
        tree = {"params": params, "opt_state": opt_state, "epoch": jnp.int32(epoch + 1)}
        save_checkpoint(run.dir / CHECKPOINT_DIR, epoch + 1, tree, meta, keep=2)
    if stage == "pretrain":
        _save_model(run.dir, PRETRAINED_DIR, tree, meta)
    return tree


def generate(
    cfg: SFTConfig, env: Any, stage: str, bank: Any, players: tuple[Any, Any], key: Any, steps: int
) -> tuple[Any, Any, dict[str, Any]]:
    """``(train, val, info)``: the stage's steps (``_sft.Steps`` of numpy ``[N]`` leaves) from
    the training games and the held-out ones, and the data figures for ``metrics.jsonl``;
    ``players``: ``(human, expert)``, the ``_human_model.HumanModel`` and the ``_sft.Expert``
    (None for pretraining)."""
    human, expert = players
    import jax
    import jax.numpy as jnp

    from alignlab.assist._sft import make_collect, start_games

    n_val_envs = max(1, cfg.envs // VAL_SHARE)
    n_train_envs = cfg.envs - n_val_envs
    n_val_goals = max(1, len(bank) // VAL_SHARE)
    n_train_goals = len(bank) - n_val_goals
    held = np.arange(cfg.envs) >= n_train_envs
    lo = jnp.asarray(np.where(held, n_train_goals, 0), jnp.int32)
    n = jnp.asarray(np.where(held, n_val_goals, n_train_goals), jnp.int32)
    chunk = min(_CHUNK, -(-steps // cfg.envs))
    n_chunks = -(-steps // (cfg.envs * chunk))
    if stage == "pretrain":
        collect, params = make_collect(env, stage, chunk, human=human), None
    else:
        collect = make_collect(env, stage, chunk, expert.net, expert.search, human)
        params = expert.params
    k_start, k_play = jax.random.split(key)
    games = start_games(env, k_start, lo, n, bank)
    parts, t_first, t0 = [], 0.0, time.perf_counter()
    for k in track(jax.random.split(k_play, n_chunks), total=n_chunks, desc=f"{stage} data"):
        games, rec = collect(games, bank, k, params)
        parts.append(jax.device_get(rec))
        if not t_first:
            t_first = time.perf_counter()  # the first call compiles
    t_end = time.perf_counter()
    data = jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *parts)  # [T, E]

    def flat(cols: slice) -> Any:
        return jax.tree.map(lambda x: x[:, cols].reshape(-1, *x.shape[2:]), data)

    played = n_chunks * chunk * cfg.envs
    timed = (n_chunks - 1) * chunk * cfg.envs
    rate = timed / (t_end - t_first) if timed else played / (t_end - t0)
    train, val = flat(slice(0, n_train_envs)), flat(slice(n_train_envs, None))
    info = {
        "data/env_steps": played,
        "data/env_steps_per_s": rate,
        "data/train_steps": len(train.action),
        "data/val_steps": len(val.action),
    }
    return train, val, info


def _majority(train_actions: np.ndarray, val_actions: np.ndarray) -> float:
    """Accuracy on the held-out steps of always predicting the commonest training action."""
    top = np.bincount(train_actions).argmax()
    return float(np.mean(val_actions == top))


def _take(data: Any, idx: np.ndarray) -> Any:
    import jax

    return jax.tree.map(lambda x: x[idx], data)


def train_epoch(
    update: Any, params: Any, opt_state: Any, data: Any, cfg: SFTConfig, rng: np.random.Generator
) -> tuple[Any, Any, dict[str, float]]:
    """One shuffled pass (the last partial batch dropped, so one compiled step serves all);
    returns the mean losses and ``items_per_s``."""
    n = len(data.action)
    bs = max(1, min(cfg.batch_size, n))
    perm = rng.permutation(n)
    sums: dict[str, float] = {}
    batches = range(0, n - bs + 1, bs)
    t0 = time.perf_counter()
    for i in batches:
        params, opt_state, parts = update(params, opt_state, _take(data, perm[i : i + bs]))
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + float(v)
    seconds = time.perf_counter() - t0
    out = {k: v / len(batches) for k, v in sums.items()}
    out["items_per_s"] = len(batches) * bs / seconds
    return params, opt_state, out


def held_out(evaluate: Any, params: Any, data: Any, batch_size: int) -> dict[str, float]:
    """Held-out ``accuracy``, ``ce`` (nats), ``chance`` (a uniform legal guess's accuracy) and
    ``goal_acc_todo`` (goal head accuracy where the world differs from the goal), evaluated
    in padded batches of ``batch_size`` (one compilation)."""
    n = len(data.action)
    bs = max(1, min(batch_size, n))
    sums: dict[str, float] = {}
    for i in range(0, n, bs):
        idx = np.arange(i, i + bs)
        w = (idx < n).astype(np.float32)
        part = evaluate(params, _take(data, np.minimum(idx, n - 1)), w)
        for k, v in part.items():
            sums[k] = sums.get(k, 0.0) + float(v)
    return {
        "accuracy": sums["hits"] / sums["n"],
        "ce": sums["nll"] / sums["n"],
        "chance": sums["chance"] / sums["n"],
        "goal_acc_todo": sums["goal_hits"] / max(sums["todo"], 1.0),
    }
