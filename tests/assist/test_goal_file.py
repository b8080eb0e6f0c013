"""Goal files: the example parses, generated goals round-trip, and every malformed field ends in
one error naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignlab.assist._goal_file import load_goal_file, parse_grid, save_goal_file
from alignlab.assist._goals import random_blob
from alignlab.assist._houses import house
from alignlab.assist._layout import AIR, COBBLESTONE, DIRT, GLASS, LOG, PLANKS, STONE
from alignlab.core import AlignlabError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "assist" / "goals.json"


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "goals.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_example_file_parses_with_the_documented_convention() -> None:
    found = load_goal_file(EXAMPLE, size=(6, 6, 6))
    assert found.names == ("pillar", "wall_with_window", "l_shape")
    assert found.goals.shape == (3, 6, 6, 6) and found.goals.dtype == np.uint8
    pillar, wall, ell = found.goals
    # file y = 0 is the env's y = 2, the first layer on the dirt
    assert [int(b) for b in pillar[2, 2:5, 2]] == [STONE, STONE, LOG]
    assert (pillar[:, 0] == 1).all() and (pillar[:, 1] == DIRT).all()
    assert int(wall[2, 3, 3]) == GLASS and int(wall[1, 3, 3]) == PLANKS
    assert int(ell[1, 1, 1]) == COBBLESTONE  # y = -1: the ground layer itself
    assert int((pillar != AIR).sum()) == 36 + 36 + 3  # bedrock, dirt, the pillar


def test_names_any_case_ids_and_digging(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"grid": "5X6x5", "goals": {"g": [[1, 0, 1, "StOnE"], [2, 0, 1, 4], [3, -1, 3, "air"]]}},
    )
    goal = load_goal_file(path).goals[0]
    assert int(goal[1, 2, 1]) == STONE and int(goal[2, 2, 1]) == GLASS
    assert int(goal[3, 1, 3]) == AIR  # dug out of the ground


@pytest.mark.parametrize("size", [(6, 6, 6), (11, 10, 10), (5, 6, 5)])
def test_generated_goals_round_trip(tmp_path: Path, size: tuple[int, int, int]) -> None:
    goals = {f"house{i}": house(size, np.random.default_rng(i)) for i in range(40)}
    goals |= {f"blob{i}": random_blob(size, np.random.default_rng(i)) for i in range(10)}
    path = save_goal_file(tmp_path / "g.json", goals, description="generated")
    back = load_goal_file(path, size=size)
    assert back.names == tuple(goals)
    np.testing.assert_array_equal(back.goals, np.stack(list(goals.values())))


def test_save_refuses_a_goal_the_format_cannot_hold(tmp_path: Path) -> None:
    goal = house((6, 6, 6), np.random.default_rng(0))
    goal[0, 2, 0] = STONE  # the border ring
    with pytest.raises(AlignlabError, match="outside the build area"):
        save_goal_file(tmp_path / "g.json", {"bad": goal})
    assert not (tmp_path / "g.json").exists()


GOOD = [[2, 0, 2, "stone"]]
CASES: list[tuple[Any, str, str]] = [
    ('{"grid": "6x6x6", "goals": ', "", "not JSON"),
    ([1, 2], "", "a JSON object"),
    ({"goals": {"a": GOOD}}, "grid", "missing"),
    ({"grid": "6x6", "goals": {"a": GOOD}}, "grid", '"XxYxZ"'),
    ({"grid": 6, "goals": {"a": GOOD}}, "grid", '"XxYxZ"'),
    ({"grid": "6x3x6", "goals": {"a": GOOD}}, "grid", "too small"),
    ({"grid": "6x6x6", "goals": {}}, "goals", "non-empty"),
    ({"grid": "6x6x6", "goals": [GOOD]}, "goals", "non-empty"),
    ({"grid": "6x6x6"}, "goals", "non-empty"),
    ({"grid": "6x6x6", "goal": {"a": GOOD}}, "goal", "unknown key"),
    ({"grid": "6x6x6", "goals": {"a": "stone"}}, "goals.a", "list of voxels"),
    ({"grid": "6x6x6", "goals": {"a": []}}, "goals.a", "asks for nothing"),
    ({"grid": "6x6x6", "goals": {"a": [[2, 0, 2, "air"]]}}, "goals.a", "asks for nothing"),
    ({"grid": "6x6x6", "goals": {"a": [*GOOD, [2, 0]]}}, "goals.a[1]", "[x, y, z, block]"),
    ({"grid": "6x6x6", "goals": {"a": [[2, 0.5, 2, "stone"]]}}, "goals.a[0][1]", "integer"),
    ({"grid": "6x6x6", "goals": {"a": [[True, 0, 2, "stone"]]}}, "goals.a[0][0]", "integer"),
    ({"grid": "6x6x6", "goals": {"a": [*GOOD, [2, 0, 2, "stne"]]}}, "goals.a[1][3]", "unknown"),
    ({"grid": "6x6x6", "goals": {"a": [[2, 0, 2, 10]]}}, "goals.a[0][3]", "unknown block"),
    ({"grid": "6x6x6", "goals": {"a": [[2, 0, 2, "bedrock"]]}}, "goals.a[0][3]", "bedrock"),
    ({"grid": "6x6x6", "goals": {"a": [[0, 0, 2, "stone"]]}}, "goals.a[0]", "x = 0 is outside"),
    ({"grid": "6x6x6", "goals": {"a": [[5, 0, 2, "stone"]]}}, "goals.a[0]", "x = 5 is outside"),
    ({"grid": "6x6x6", "goals": {"a": [[2, 3, 2, "stone"]]}}, "goals.a[0]", "y = 3 is outside"),
    ({"grid": "6x6x6", "goals": {"a": [[2, -2, 2, "stone"]]}}, "goals.a[0]", "y = -2 is outside"),
    ({"grid": "6x6x6", "goals": {"a": [[2, 0, 9, "stone"]]}}, "goals.a[0]", "z = 9 is outside"),
    (
        {"grid": "6x6x6", "goals": {"a": [*GOOD, [1, 0, 1, "log"], [2, 0, 2, "glass"]]}},
        "goals.a[2]",
        "listed twice (also goals.a[0])",
    ),
    ('{"grid": "6x6x6", "goals": {"a": [[2,0,2,"log"]], "a": [[1,0,1,"log"]]}}', "a", "twice"),
]


@pytest.mark.parametrize("data,field,words", CASES)
def test_bad_goal_files_name_file_and_field(
    tmp_path: Path, data: Any, field: str, words: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(AlignlabError) as info:
        load_goal_file(path)
    err = info.value
    assert err.file == str(path) and words in err.message
    assert err.field == (field or None)
    assert str(path) in str(err)


def test_missing_file_and_grid_mismatch(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError, match="not found"):
        load_goal_file(tmp_path / "nope.json")
    with pytest.raises(AlignlabError, match="pass --size 6 6 6") as info:
        load_goal_file(EXAMPLE, size=(11, 10, 10))
    assert info.value.field == "grid"


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n  "grid": "6x6x6",\n  "goals": {"a": [[2, 0, 2, "stone"],]}\n}')
    with pytest.raises(AlignlabError) as info:
        load_goal_file(path)
    assert info.value.line == 3


def test_parse_grid() -> None:
    assert parse_grid("11x10x10") == (11, 10, 10)
    assert parse_grid(" 6 × 6 × 6 ") == (6, 6, 6)
    with pytest.raises(AlignlabError):
        parse_grid("6x6x6x6")
