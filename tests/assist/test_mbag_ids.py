"""Flat ids of the original MBAG layout and of the conformance fixture's, against alignlab's.

The literals below are derived from the original's layout (``MbagActionDistribution.
get_action_mapping`` at commit 8560b5f): action types in the order NOOP, PLACE_BLOCK,
BREAK_BLOCK, the 6 moves, GIVE_BLOCK; block-id-major then voxel within PLACE and GIVE. On the
paper grid V = 11·10·10 = 1,100: NOOP 0; PLACE(v, b) = 1 + b·1100 + v; BREAK(v) = 11001 + v;
moves 12101..12106; GIVE(v, b) = 12107 + b·1100 + v (finite inventories only).
"""

from __future__ import annotations

import numpy as np
import pytest

import alignlab.assist as assist
from alignlab.assist._layout import EnvConfig
from alignlab.assist._mbag_ids import (
    fixture_n_actions,
    from_fixture_layout,
    from_mbag,
    mbag_n_actions,
    to_fixture_layout,
    to_mbag,
    vector_from_mbag,
    vector_to_mbag,
)
from alignlab.core import AlignlabError

PAPER = EnvConfig()
SMALL = EnvConfig(size=(3, 4, 5))
FINITE = EnvConfig(finite_inventory=True)


def _v(x: int, y: int, z: int) -> int:
    return (x * 10 + y) * 10 + z  # paper grid


def test_sizes() -> None:
    assert mbag_n_actions(PAPER) == 12_107  # 1 + 10·1100 + 1100 + 6
    assert mbag_n_actions(FINITE) == 23_107  # + GIVE_BLOCK, 10·1100
    # the original's own test: a 5×5×5 world without teleportation, finite blocks
    assert mbag_n_actions(EnvConfig(size=(5, 5, 5), finite_inventory=True)) == 2_632
    assert fixture_n_actions(PAPER) == 9_907 == PAPER.n_actions


# (alignlab id, original id), paper grid
HAND = [
    (0, 0),  # NOOP
    *[(1 + k, 12_101 + k) for k in range(6)],  # +x −x +y −y +z −z: 1 + 11·1100 + k
    (7, 11_001),  # BREAK (0,0,0): 1 + 10·1100 + 0
    (7 + _v(10, 9, 9), 12_100),  # BREAK (10,9,9), v = 1099: 11001 + 1099
    (1_107, 2_201),  # PLACE dirt (0,0,0): alignlab 7 + 1100; original 1 + 2·1100
    (9_906, 11_000),  # PLACE wool (10,9,9): alignlab 7 + 1100 + 7·1100 + 1099; 1 + 9·1100 + 1099
    (2_216, 3_310),  # PLACE cobblestone (0,0,9): 7 + 2·1100 + 9; 1 + 3·1100 + 9
]


@pytest.mark.parametrize(("ours", "theirs"), HAND)
def test_hand_checked_ids(ours: int, theirs: int) -> None:
    assert int(to_mbag(ours, PAPER)) == theirs
    assert int(from_mbag(theirs, PAPER)) == ours


@pytest.mark.parametrize("cfg", [PAPER, SMALL], ids=["11x10x10", "3x4x5"])
def test_round_trip_every_id(cfg: EnvConfig) -> None:
    v_n, ours = cfg.n_voxels, np.arange(cfg.n_actions)
    theirs = to_mbag(ours, cfg)
    assert len(np.unique(theirs)) == len(ours) and theirs.min() >= 0
    np.testing.assert_array_equal(from_mbag(theirs, cfg), ours)

    back = from_mbag(np.arange(mbag_n_actions(cfg)), cfg, strict=False)
    dropped = np.flatnonzero(back < 0)  # PLACE of air and bedrock, exactly
    np.testing.assert_array_equal(dropped, np.arange(1, 1 + 2 * v_n))
    kept = np.flatnonzero(back >= 0)
    np.testing.assert_array_equal(to_mbag(back[kept], cfg), kept)

    fix = np.arange(fixture_n_actions(cfg))
    np.testing.assert_array_equal(from_fixture_layout(to_fixture_layout(ours, cfg), cfg), ours)
    np.testing.assert_array_equal(from_mbag(to_mbag(from_fixture_layout(fix, cfg), cfg), cfg), fix)


def test_shapes_and_dtypes_are_kept() -> None:
    ids = np.array([[0, 7], [1_107, 9_906]], dtype=np.int32)
    out = to_mbag(ids, PAPER)
    assert out.shape == (2, 2) and out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 11_001], [2_201, 11_000]])
    assert to_mbag([], PAPER).shape == (0,)


def test_no_counterpart_raises_or_maps_to_minus_one() -> None:
    with pytest.raises(AlignlabError, match=r"MBAG action 1 \(PLACE_BLOCK air at voxel 0\)"):
        from_mbag(np.array([0, 1]), PAPER)
    with pytest.raises(AlignlabError, match="MBAG action 2200 .PLACE_BLOCK bedrock at voxel 1099"):
        from_mbag(2_200, PAPER)
    np.testing.assert_array_equal(
        from_mbag([0, 1, -1, 2_201], PAPER, strict=False), [0, -1, -1, 1_107]
    )
    np.testing.assert_array_equal(to_mbag([-1, 7], PAPER, strict=False), [-1, 11_001])
    for bad in (12_107, -1):
        with pytest.raises(AlignlabError, match=str(bad)):
            from_mbag(bad, PAPER)
    with pytest.raises(AlignlabError, match="9907"):
        to_mbag(9_907, PAPER)  # no GIVE without finite inventories
    with pytest.raises(AlignlabError, match="integers"):
        to_mbag(np.array([1.0]), PAPER)


def test_finite_inventory_give() -> None:
    give_dirt, give_wool = 9_907, 9_914  # alignlab: 7 + 9·1100 + (b − 2)
    with pytest.raises(AlignlabError, match=r"9907 \(GIVE dirt\) needs give_voxel"):
        to_mbag(give_dirt, FINITE)
    # GIVE_BLOCK(v, b) = 12107 + b·1100 + v
    assert int(to_mbag(give_dirt, FINITE, give_voxel=_v(3, 2, 4))) == 12_107 + 2_200 + 324
    got = to_mbag([give_dirt, give_wool], FINITE, give_voxel=[0, 1_099])
    np.testing.assert_array_equal(got, [14_307, 23_106])  # 23106 = the last original id
    with pytest.raises(AlignlabError, match="give_voxel"):
        to_mbag(give_dirt, FINITE, give_voxel=1_100)
    # every GIVE_BLOCK of a placeable block maps back to GIVE(b), wherever it points
    theirs = np.arange(12_107 + 2 * 1_100, 23_107)
    np.testing.assert_array_equal(from_mbag(theirs, FINITE), 9_907 + (theirs - 12_107) // 1_100 - 2)
    with pytest.raises(AlignlabError, match="GIVE_BLOCK bedrock at voxel 0"):
        from_mbag(12_107 + 1_100, FINITE)
    # below GIVE the layout is the infinite one
    ours = np.arange(9_907)
    np.testing.assert_array_equal(to_mbag(ours, FINITE), to_mbag(ours, PAPER))
    with pytest.raises(AlignlabError, match="fixture"):
        to_fixture_layout(give_dirt, FINITE)


@pytest.mark.parametrize("cfg", [PAPER, SMALL, FINITE], ids=["paper", "small", "finite"])
def test_masks_keep_their_count(cfg: EnvConfig) -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((3, cfg.n_actions)) < 0.3
    theirs = vector_to_mbag(mask, cfg, fill=False, give_voxel=5)
    assert theirs.shape == (3, mbag_n_actions(cfg)) and theirs.dtype == bool
    np.testing.assert_array_equal(theirs.sum(-1), mask.sum(-1))
    np.testing.assert_array_equal(vector_from_mbag(theirs, cfg, fill=False, give_voxel=5), mask)
    # the same through the id maps: legal ids go where the vector map puts them
    for row, row_theirs in zip(mask, theirs, strict=True):
        ids = to_mbag(np.flatnonzero(row), cfg, give_voxel=5)
        np.testing.assert_array_equal(np.sort(ids), np.flatnonzero(row_theirs))


def test_logits_fill_and_shape_checks() -> None:
    logits = np.zeros(SMALL.n_actions, dtype=np.float32)
    theirs = vector_to_mbag(logits, SMALL, fill=-np.inf)
    assert np.isneginf(theirs[1 : 1 + 2 * SMALL.n_voxels]).all()
    assert np.isfinite(np.delete(theirs, np.arange(1, 1 + 2 * SMALL.n_voxels))).all()
    with pytest.raises(AlignlabError, match="expected"):
        vector_from_mbag(logits, SMALL)


def test_public_names() -> None:
    assert assist.to_mbag is to_mbag and assist.from_fixture_layout is from_fixture_layout
    assert {"to_mbag", "from_mbag", "mbag_n_actions", "to_fixture_layout"} <= set(assist.__all__)
