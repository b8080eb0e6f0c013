"""Self-play on Ray actors feeding one learner (``alignlab assist train --workers N``).

Each ``SelfPlayWorker`` holds its own games and compiled self-play function; per learner
iteration the learner sends the current parameters (one ``ray.put``) and every live worker
plays one fragment. A worker that dies (its process killed, its node lost) is dropped with a
warning and the learner goes on with the others; when none is left the run stops with an
error, keeping its checkpoints. The workers' games are not checkpointed: after ``--resume``
they start new games.

On one machine ``ray.init`` starts a local Ray instance; on a cluster set ``RAY_ADDRESS``
(``ray start --head`` on the head node, ``ray start --address=...`` on the others) and each
worker takes one CPU. Each worker loads the simulated human itself (``--human``: a BC
model's file must be at the same path on every node). On a GPU machine the learner runs on the
GPU (JAX picks it) while the workers play on CPUs.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from alignlab.core import AlignlabError


def _tuple(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _worker_class() -> Any:
    import ray

    @ray.remote(num_cpus=1)
    class SelfPlayWorker:
        """One worker's games (``envs`` of them) and its compiled self-play fragment."""

        def __init__(self, config: dict[str, Any], index: int) -> None:
            import jax
            import jax.numpy as jnp

            from alignlab.assist._human_model import load_human
            from alignlab.assist._selfplay import make_collect, start_actors
            from alignlab.assist._train import setup, training_goals
            from alignlab.assist._train_cmd import TrainConfig

            cfg = TrainConfig(**{k: _tuple(v) for k, v in config.items()})
            self.s = setup(cfg)
            self.bank = jnp.asarray(training_goals(cfg, self.s.env))
            key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 1_000 + index)
            self.actors = start_actors(self.s.env, key, self.bank, cfg.envs)
            human = load_human(cfg.human, self.s.env)  # the file must be readable here
            self.collect = make_collect(
                self.s.env, self.s.net, self.s.search, cfg.fragment, human=human
            )

        def play(self, params: Any, key: np.ndarray) -> tuple[Any, Any]:
            import jax

            self.actors, items, eps = self.collect(params, self.actors, self.bank, key)
            return jax.device_get(items), jax.device_get(eps)

    return SelfPlayWorker


class WorkerPool:
    """``n`` self-play workers on Ray; ``play(params, key)`` returns every live worker's
    fragment (items and episode figures, concatenated)."""

    def __init__(self, n: int, config: Any) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        from alignlab.assist._model_files import config_dict

        cls = _worker_class()
        self.workers = [cls.remote(config_dict(config), i) for i in range(n)]

    def play(self, params: Any, key: Any) -> tuple[Any, Any, int]:
        """``(items, episodes, n_live)``: items concatenated along the batch axis, episode
        figures along the env axis."""
        import jax
        import ray
        from ray.exceptions import RayActorError

        ref = ray.put(jax.device_get(params))
        keys = np.asarray(jax.random.split(key, len(self.workers)))
        futures = [w.play.remote(ref, k) for w, k in zip(self.workers, keys, strict=True)]
        results, live = [], []
        for w, fut in zip(self.workers, futures, strict=True):
            try:
                results.append(ray.get(fut))
                live.append(w)
            except RayActorError as exc:
                warnings.warn(
                    f"a self-play worker died and was dropped ({type(exc).__name__})", stacklevel=2
                )
        self.workers = live
        if not results:
            raise AlignlabError(
                "every self-play worker died; resume the run to go on", field="workers"
            )
        items = jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *[r[0] for r in results])
        eps = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *[r[1] for r in results])
        return items, eps, len(results)

    def kill(self, index: int) -> None:
        """Kill one worker's process (for fault tests)."""
        import ray

        ray.kill(self.workers[index], no_restart=True)

    def close(self) -> None:
        import ray

        for w in self.workers:
            ray.kill(w, no_restart=True)
        self.workers = []
