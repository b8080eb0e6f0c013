from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignlab.assist._render import episode_json, replay
from alignlab.assist._view_cmd import ViewConfig, run_view
from alignlab.assist._viewer import episode_html, load_episode, save_episode_html
from alignlab.core import AlignlabError

SIZE = (5, 4, 6)
V = SIZE[0] * SIZE[1] * SIZE[2]
N_IDS = 7 + 9 * V + 8  # with finite inventories (docs/assist.md)
EVIL = "</script><script>alert(1)</script>"
INVENTORY = [[0, 0, 3, 1, 4, 1, 5, 9, 2, 6], [0, 0, 5, 3, 5, 8, 9, 7, 9, 3]]


def _episode(n_steps: int = 6, seed: int = 0, *, finite: bool = True) -> dict[str, Any]:
    """Random frames on a 5×4×6 grid: each step rewrites a few voxels and breaks two back to air."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 10, SIZE).astype(np.uint8)
    blocks[rng.random(SIZE) < 0.5] = 0
    goal = rng.integers(0, 10, SIZE).astype(np.uint8)
    goal[rng.random(SIZE) < 0.4] = 0
    frames = []
    for t in range(n_steps):
        if t:
            blocks = blocks.copy()
            flat = blocks.reshape(-1)
            flat[rng.choice(V, 5, replace=False)] = rng.integers(0, 10, 5)
            flat[rng.choice(np.flatnonzero(flat), 2, replace=False)] = 0
        frames.append(
            {
                "blocks": blocks,
                "positions": rng.integers(0, [SIZE[0], SIZE[1] - 1, SIZE[2]], (2, 3)),
                "actions": rng.integers(0, N_IDS if finite else N_IDS - 8, 2),
                "reward": float(rng.normal()),
            }
        )
    ep = episode_json(frames, goal, meta={"finite_inventory": finite, "note": EVIL})
    ep["steps"][min(2, n_steps - 1)]["inventory"] = INVENTORY
    return ep


def _script(page: str, element_id: str) -> str:
    m = re.search(rf'<script[^>]*\bid="{element_id}"[^>]*>(.*?)</script>', page, re.DOTALL)
    assert m is not None, element_id
    return m.group(1)


def _run_node(page: str, body: str) -> Any:
    """Run the page's core script under node with its embedded episode, then ``body``, which
    prints one JSON value."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    data = _script(page, "episode-data")
    js = (
        f"globalThis.ALIGNLAB_EPISODE = JSON.parse({json.dumps(data)});\n"
        f"{_script(page, 'alignlab-core')}\nconst v = globalThis.alignlabViewer;\n{body}\n"
    )
    res = subprocess.run([node, "-"], input=js, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _voxel(x: int, y: int, z: int) -> int:
    return (x * SIZE[1] + y) * SIZE[2] + z


def _similarity(blocks: np.ndarray, goal: np.ndarray) -> int:
    both = (blocks > 0) & (goal > 0)
    return int(np.where(blocks == goal, 1, np.where(both, -1, 0)).sum())


# ---------------------------------------------------------------- the page


def test_page_is_self_contained_and_embeds_the_episode() -> None:
    ep = _episode()
    page = episode_html(ep, title="run <7> & co")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    assert "<title>run &lt;7&gt; &amp; co</title>" in page
    assert json.loads(_script(page, "episode-data")) == json.loads(json.dumps(ep))
    assert "{{" not in page  # every placeholder was filled


def test_a_string_in_meta_cannot_close_the_script() -> None:
    page = episode_html(_episode())
    assert EVIL not in page and "alert(1)</script>" not in page
    # the template's four script elements, and no more
    assert page.lower().count("<script") == 4 and page.lower().count("</script") == 4
    assert json.loads(_script(page, "episode-data"))["meta"]["note"] == EVIL


def test_save_is_the_page_and_bad_episodes_are_refused(tmp_path: Path) -> None:
    ep = _episode()
    path = save_episode_html(tmp_path / "sub" / "ep.html", ep, title="t")
    assert path.read_text(encoding="utf-8") == episode_html(ep, title="t")
    ep["format"] = "something/2"
    with pytest.raises(AlignlabError) as err:
        episode_html(ep)
    assert err.value.field == "format"


# ---------------------------------------------------------------- the page's replay logic


def test_js_replay_matches_python_forward_and_backward() -> None:
    ep = _episode()
    want = replay(ep)
    order = [4, 3, 5, 2, 0, 1, 2, 3, 4, 5, 5, 3, 4, 1, 0]
    out = _run_node(
        episode_html(ep),
        f"console.log(JSON.stringify({{"
        f"blocks: {order}.map(k => v.blocksAt(k)),"
        f"pct: [0, 1, 2, 3, 4, 5].map(k => v.goalPercentageAt(k)),"
        f"ret: [0, 1, 2, 3, 4, 5].map(k => v.returnAt(k)),"
        f"inv: [v.inventoryAt(2), v.inventoryAt(1)], n: v.nSteps}}))",
    )
    assert out["n"] == 6
    for k, got in zip(order, out["blocks"], strict=True):
        np.testing.assert_array_equal(np.array(got), want[k].ravel(), err_msg=f"step {k}")
    goal = np.zeros(SIZE, np.uint8)
    for x, y, z, b in ep["goal"]:
        goal[x, y, z] = b
    sim0 = _similarity(want[0], goal)
    pct = [(_similarity(b, goal) - sim0) / (V - sim0) for b in want]
    np.testing.assert_allclose(out["pct"], pct, rtol=0, atol=1e-12)
    assert out["pct"][0] == 0 and len(set(out["pct"])) > 2  # the random steps move it
    np.testing.assert_allclose(out["ret"], np.cumsum([s["reward"] for s in ep["steps"]]))
    assert out["inv"] == [INVENTORY, None]


def test_js_replay_across_checkpoints_in_random_order() -> None:
    ep = _episode(n_steps=150, seed=1)
    want = replay(ep)
    order = [
        *np.random.default_rng(2).permutation(150).tolist(),
        *range(149, -1, -7),
        140,
        70,
        63,
        64,
        65,
        128,
        0,
    ]
    out = _run_node(
        episode_html(ep), f"console.log(JSON.stringify({order}.map(k => v.blocksAt(k))))"
    )
    for k, got in zip(order, out, strict=True):
        np.testing.assert_array_equal(np.array(got, np.uint8), want[k].ravel(), err_msg=f"{k}")


def test_js_describes_actions_in_words() -> None:
    place = 7 + V + (6 - 2) * V + _voxel(3, 2, 4)  # planks = 6
    ids = [0, 1, 4, 7 + _voxel(2, 1, 3), place, 7 + 9 * V + (9 - 2), N_IDS, -1]
    expected = [
        "noop",
        "move +x",
        "move -y",
        "break at (2,1,3)",
        "place planks at (3,2,4)",
        "give wool",
        f"unknown action {N_IDS}",
        "unknown action -1",
    ]
    ep = _episode()
    ep["steps"][1]["actions"] = [place, 0]
    out = _run_node(
        episode_html(ep),
        f"const w = alignlabViewerCore.createViewer(Object.assign({{}}, ALIGNLAB_EPISODE, "
        f"{{meta: {{}}}}));\n"
        f"console.log(JSON.stringify({{finite: {ids}.map(a => v.describeAction(a)),"
        f"infinite: w.describeAction({7 + 9 * V + 7}), step: v.describeStep(1)}}))",
    )
    assert out["finite"] == expected
    assert out["infinite"] == f"unknown action {7 + 9 * V + 7}"  # no GIVE without inventories
    assert out["step"] == ["human: place planks at (3,2,4)", "assistant: noop"]


# ---------------------------------------------------------------- loading episode files


def _write(tmp_path: Path, ep: Any) -> Path:
    path = tmp_path / "ep.json"
    path.write_text(json.dumps(ep, indent=1), encoding="utf-8")
    return path


def test_load_episode_round_trips(tmp_path: Path) -> None:
    ep = _episode()
    assert load_episode(_write(tmp_path, ep)) == json.loads(json.dumps(ep))


def test_load_episode_names_the_line_of_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "ep.json"
    path.write_text('{\n  "format": "alignlab.assist.episode/1",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(AlignlabError) as err:
        load_episode(path)
    assert err.value.line == 3
    assert f"{path}:3" in str(err.value) and "invalid JSON" in str(err.value)


def _out_of_grid(ep: dict[str, Any]) -> None:
    ep["steps"][2]["changes"].append([5, 0, 0, 2])


def _bad_block(ep: dict[str, Any]) -> None:
    ep["steps"][1]["changes"][0][3] = 10


def _bad_format(ep: dict[str, Any]) -> None:
    ep["format"] = "alignlab.assist.episode/0"


def _no_steps(ep: dict[str, Any]) -> None:
    del ep["steps"]


def _bad_size(ep: dict[str, Any]) -> None:
    ep["size"] = [5, 4]


def _bad_positions(ep: dict[str, Any]) -> None:
    ep["steps"][3]["positions"] = [[0, 0, 0]]


def _bad_goal(ep: dict[str, Any]) -> None:
    ep["goal"][0] = [0, 0, 0, 1.5]


def _bad_action(ep: dict[str, Any]) -> None:
    ep["steps"][4]["actions"] = [0, N_IDS]


def _bad_inventory(ep: dict[str, Any]) -> None:
    ep["steps"][2]["inventory"] = [[1, 2, 3], [4, 5, 6]]


def _bad_reward(ep: dict[str, Any]) -> None:
    ep["steps"][5]["reward"] = "much"


@pytest.mark.parametrize(
    ("spoil", "field", "words"),
    [
        (_bad_format, "format", "alignlab.assist.episode/1"),
        (_out_of_grid, "steps[2].changes[", "outside the 5×4×6 grid"),
        (_bad_block, "steps[1].changes[0]", "block id 10"),
        (_no_steps, "steps", "missing"),
        (_bad_size, "size", "three positive integers"),
        (_bad_positions, "steps[3].positions", "[[x, y, z], [x, y, z]]"),
        (_bad_goal, "goal[0]", "integers"),
        (_bad_action, "steps[4].actions", f"0..{N_IDS - 1}"),
        (_bad_inventory, "steps[2].inventory", "block counts"),
        (_bad_reward, "steps[5].reward", "finite number"),
    ],
)
def test_load_episode_names_the_bad_field(
    tmp_path: Path, spoil: Any, field: str, words: str
) -> None:
    ep = _episode()
    spoil(ep)
    path = _write(tmp_path, ep)
    with pytest.raises(AlignlabError) as err:
        load_episode(path)
    assert err.value.file == str(path)
    assert err.value.field is not None and err.value.field.startswith(field)
    assert words in err.value.message and str(path) in str(err.value)


def test_load_episode_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError, match="file not found"):
        load_episode(tmp_path / "nope.json")


# ---------------------------------------------------------------- the command


def test_run_view_writes_beside_the_episode(tmp_path: Path) -> None:
    src = _write(tmp_path, _episode())
    out = run_view(ViewConfig(episode=str(src)))
    assert out == tmp_path / "ep.html"
    page = out.read_text(encoding="utf-8")
    assert "<title>ep.json</title>" in page and "alignlab-core" in page
    other = run_view(ViewConfig(episode=str(src), out=str(tmp_path / "x" / "v.html"), title="T"))
    assert other.is_file() and "<title>T</title>" in other.read_text(encoding="utf-8")


def test_run_view_refuses_bad_arguments(tmp_path: Path) -> None:
    src = _write(tmp_path, _episode())
    with pytest.raises(AlignlabError) as err:
        run_view(ViewConfig(episode=str(src), out=str(src)))
    assert err.value.field == "out" and json.loads(src.read_text())["format"]
    with pytest.raises(AlignlabError) as err:
        run_view(ViewConfig())
    assert err.value.field == "episode"


def test_view_config_parses_as_cli_flags() -> None:
    from alignlab.cli import _add_config_args, _config_from

    parser = argparse.ArgumentParser()
    _add_config_args(parser, ViewConfig)
    args = parser.parse_args(["--episode", "a.json", "--out", "b.html"])
    assert _config_from(args, ViewConfig) == ViewConfig(episode="a.json", out="b.html")
