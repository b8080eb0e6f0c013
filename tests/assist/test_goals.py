from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from alignlab.assist._goals import count_distinct, random_blob, validate_goal_array
from alignlab.assist._houses import house
from alignlab.assist._layout import AIR, BEDROCK, DIRT, GLASS
from alignlab.core import AlignlabError

SIZES = [(11, 10, 10), (6, 6, 6), (7, 8, 5)]
GENERATORS = [random_blob, house]


def _check_valid(goal: np.ndarray, size: tuple[int, int, int]) -> None:
    assert goal.dtype == np.uint8 and goal.shape == size
    validate_goal_array(goal, size)
    assert (goal[:, 0, :] == BEDROCK).all() and not (goal[:, 1:, :] == BEDROCK).any()
    # nothing outside the interior [1:X-1, 1:Y-1, 1:Z-1] but the ground: dirt on the border
    # ring of y = 1, so no goal asks for goal-independent digging
    ring = np.ones(size[::2], bool)
    ring[1:-1, 1:-1] = False
    assert (goal[:, 1, :][ring] == DIRT).all()
    rest = goal[:, 1:, :].copy()
    rest[1:-1, : goal.shape[1] - 2, 1:-1] = AIR
    rest[:, 0, :][ring] = AIR
    assert not rest.any()
    assert (goal[:, 2:, :] != AIR).sum() > 0  # something is built above the ground


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_generators_give_valid_deterministic_goals(gen, size) -> None:  # type: ignore[no-untyped-def]
    for seed in range(20):
        goal = gen(size, np.random.default_rng(seed))
        _check_valid(goal, size)
        np.testing.assert_array_equal(goal, gen(size, np.random.default_rng(seed)))


def test_blob_is_connected_and_fill_controls_volume() -> None:
    size = (11, 10, 10)
    small = random_blob(size, np.random.default_rng(1), fill=0.1)
    big = random_blob(size, np.random.default_rng(1), fill=0.5)
    assert (big[:, 2:] != AIR).sum() > 3 * (small[:, 2:] != AIR).sum()
    _, n = ndimage.label(big[:, 2:] != AIR)
    assert n == 1
    assert (big[1:-1, 1, 1:-1] == DIRT).all()
    with pytest.raises(AlignlabError):
        random_blob(size, np.random.default_rng(0), fill=0.0)


def test_houses_have_doors_windows_roofs_and_are_connected() -> None:
    size = (11, 10, 10)
    for seed in range(40):
        goal = house(size, np.random.default_rng(seed))
        assert (goal == GLASS).any()
        _, n = ndimage.label(goal[:, 1:] != AIR)
        assert n == 1
        built = np.argwhere(goal[:, 2, :] != AIR)  # the wall footprint (walls stand on y=1)
        x0, x1 = built[:, 0].min(), built[:, 0].max()
        z0, z1 = built[:, 1].min(), built[:, 1].max()
        # a roof: every column of the footprint is covered above the door height's first row
        assert (goal[x0 : x1 + 1, 3:, z0 : z1 + 1] != AIR).any(axis=1).all(), seed
        # a door: a 2-high air opening (y=2,3) in the wall ring
        walls = goal[:, 2, :] != AIR
        ring = np.zeros_like(walls)
        ring[x0 : x1 + 1, z0 : z1 + 1] = True
        ring[x0 + 1 : x1, z0 + 1 : z1] = False
        opening = ring & ~walls & (goal[:, 3, :] == AIR)
        assert opening.any(), seed


def test_count_distinct_houses_and_blobs() -> None:
    assert count_distinct(house, 200, (11, 10, 10)) >= 198
    assert count_distinct(random_blob, 50, (6, 6, 6)) == 50
    assert count_distinct(lambda s, r: np.zeros(s, np.uint8), 5, (4, 4, 4)) == 1


def test_house_rejects_too_small_size() -> None:
    with pytest.raises(AlignlabError, match="too small"):
        house((4, 6, 6), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda g: g[:, :, :-1], "shape"),
        (lambda g: g.astype(np.float32), "dtype"),
        (lambda g: np.where(g == DIRT, 12, g).astype(np.uint8), "0..9"),
        (lambda g: _set(g, (3, 4, 3), BEDROCK), "bedrock above"),
        (lambda g: _set(g, (3, 0, 3), AIR), "y=0"),
        (lambda g: g[None], "3-D"),
    ],
)
def test_validate_goal_array_errors(mutate, match) -> None:  # type: ignore[no-untyped-def]
    size = (6, 6, 6)
    goal = random_blob(size, np.random.default_rng(0))
    validate_goal_array(goal.astype(np.int64), size)  # any integer dtype is fine
    with pytest.raises(AlignlabError, match=match):
        validate_goal_array(mutate(goal), size)


def _set(goal: np.ndarray, index: tuple[int, int, int], value: int) -> np.ndarray:
    out = goal.copy()
    out[index] = value
    return out
