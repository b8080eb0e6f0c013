"""Joint steps/s of the original MBAG environment (AssistanceZero, arXiv 2504.07091), so that
``bench_assist_env.py`` can time it in the same run as ours.

It runs under the original's own Python (3.10, numpy 1.21, its C extension ``_mbag``), not under
this project's environment, and only calls the original's public API: ``MbagEnv`` in the paper's
training configuration (11×10×10 world, 2 players, horizon 1500, flying, no teleportation,
infinite blocks, ``place_wrong = -1``, random start locations, random goals) and
``MbagActionDistribution.get_mask_flat(..., line_of_sight_masking=True)``, the mask its
training code uses. Both players play uniformly random legal actions (an action type first,
then an action of that type, from each player's line-of-sight mask, as the conformance fixture
was recorded); an episode that ends is reset inside the timing, as a rollout worker would.

Prints JSON:
- ``steps_per_s``: joint steps/s, each step = ``env.step`` on both players' actions + both
  players' flat line-of-sight masks on the new observations (one ``get_mask_flat`` call on a
  batch of 2) + sampling the next actions;
- ``steps_per_s_no_masks``: the same joint actions replayed from the same seeds with
  ``env.step`` alone (the episodes are identical, so the work per step is too);
- ``steps_per_s_uniform_flat``: as ``steps_per_s`` but each action drawn uniformly from the
  legal flat ids, so nine in ten are PLACE or BREAK: the world fills with blocks and the
  original's line-of-sight mask gets slower (it traces rays for every reachable block to break
  and every reachable empty cell with a solid neighbour, the latter once per block type);
- ``steps``, ``legal_share`` (attempted actions that took effect: a check that the masks are
  the env's rules; the two players act in turn, so a few collide).

Run: ``/tmp/mbag-venv/bin/python benchmarks/_mbag_original_timer.py --mbag-src /tmp/mbag-src
[--seconds 2]``.

How the original was built here (outside this repository; commit 8560b5f, MIT)::

    mkdir /tmp/mbag-src
    git -C <mirror of cassidylaidlaw/minecraft-building-assistance-game> archive HEAD \\
        .flake8 .github .gitignore README.md lint.sh mbag pyproject.toml setup.py stubs tests \\
        | tar -x -C /tmp/mbag-src   # not data/: its checkpoint blobs are not in the mirror
    # (git still names a missing data/ blob on stderr; the 129 files listed are complete)
    /root/.pyenv/versions/3.10.13/bin/python -m venv /tmp/mbag-venv   # pip 23.0.1
    /tmp/mbag-venv/bin/pip install --only-binary=:all: numpy==1.21.6 \\
        connected-components-3d==3.12.3 scipy==1.11.4 scikit-image==0.21.0 gymnasium==1.3.0 \\
        typing_extensions==4.16.0
    # pulled in: PyWavelets 1.4.1, cloudpickle 3.1.3, farama-notifications 0.0.6,
    # imageio 2.38.0, lazy_loader 0.6, networkx 3.4.2, packaging 26.4, pillow 12.3.0,
    # tifffile 2025.5.10; the venv's setuptools 65.5.0 builds the extension (gcc -O3)
    cd /tmp/mbag-src && /tmp/mbag-venv/bin/python setup.py build_ext --inplace
"""

import argparse
import json
import random
import sys
import time

import numpy as np


def _config() -> dict:
    return {
        "num_players": 2,
        "horizon": 1500,
        "world_size": (11, 10, 10),
        "random_start_locations": True,
        "goal_generator": "random",
        "goal_generator_config": {},
        "players": [{}, {}],
        "malmo": {"use_malmo": False},
        "rewards": {"place_wrong": -1},
        "abilities": {"teleportation": False, "flying": True, "inf_blocks": True},
    }


def _run(
    env, dist, seconds: float, replay: list | None, uniform: bool = False
) -> tuple[float, list, int]:
    """Steps for ``seconds`` with masks (``replay`` None) or replays ``replay`` without them;
    ``uniform`` draws from all legal ids instead of a type first. Returns (steps/s, joint
    actions taken, attempted actions that took effect)."""
    random.seed(0)  # the env's goals and start places come from random and np.random
    np.random.seed(0)
    rng = np.random.default_rng(1)  # our sampling, apart from the env's streams
    mapping = dist.get_action_mapping(env.config)
    obs, _ = env.reset()
    taken: list = []
    effective = 0
    start = time.perf_counter()
    while (replay is None and time.perf_counter() - start < seconds) or (
        replay is not None and len(taken) < len(replay)
    ):
        if replay is None:
            batch = tuple(np.stack([o[i] for o in obs]) for i in range(3))
            masks = dist.get_mask_flat(env.config, batch, line_of_sight_masking=True)
            actions = []
            for mask in masks:
                ids = np.flatnonzero(mask)
                if not uniform:
                    types = mapping[ids, 0]
                    ids = ids[types == rng.choice(np.unique(types))]
                actions.append(tuple(int(v) for v in mapping[rng.choice(ids)]))
        else:
            actions = replay[len(taken)]
        obs, _, dones, infos = env.step(actions)
        taken.append(actions)
        effective += sum(info["action"] == info["attempted_action"] for info in infos)
        if dones[0]:
            obs, _ = env.reset()
    return len(taken) / (time.perf_counter() - start), taken, effective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mbag-src", required=True, help="the original's source (with _mbag)")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    sys.path.insert(0, args.mbag_src)
    import _mbag  # noqa: F401  (fail here, not in a silent fallback, if it was not built)
    from mbag.agents.action_distributions import MbagActionDistribution
    from mbag.environment.mbag_env import MbagEnv

    env = MbagEnv(_config())
    _run(env, MbagActionDistribution, min(args.seconds, 0.5), None)  # warm-up
    with_masks, taken, effective = _run(env, MbagActionDistribution, args.seconds, None)
    no_masks, _, _ = _run(env, MbagActionDistribution, args.seconds, taken)
    uniform, _, _ = _run(env, MbagActionDistribution, args.seconds, None, uniform=True)
    result = {
        "steps_per_s": round(with_masks, 1),
        "steps_per_s_no_masks": round(no_masks, 1),
        "steps_per_s_uniform_flat": round(uniform, 1),
        "steps": len(taken),
        "legal_share": round(effective / (2 * len(taken)), 4),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
