"""Pytree checkpoints: round trips, pruning, mismatch errors naming the field, atomic saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alignlab.core import (
    AlignlabError,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_meta,
    save_arrays,
    save_checkpoint,
)

META = {"env": {"size": [6, 6, 6]}, "lr": 0.001}


class Moments(NamedTuple):
    mu: Any
    count: Any


def _tree(seed: int = 0) -> dict[str, Any]:
    k = jax.random.key(seed)
    return {
        "params": {
            "conv_0": {"kernel": jax.random.normal(k, (3, 2, 4)), "bias": jnp.zeros(4)},
            "head": jnp.arange(6, dtype=jnp.bfloat16).reshape(2, 3) / 4,
        },
        "opt": [Moments(mu=jnp.ones((3,), jnp.float16), count=jnp.int32(seed)), np.arange(3)],
        "key": jax.random.fold_in(k, 1),
        "raw_key": jax.random.PRNGKey(seed),
        "step": seed,
        "scale": np.float32(0.5),
    }


def test_round_trip_keeps_structure_values_types_and_keys(tmp_path: Path) -> None:
    tree = _tree(3)
    path = save_checkpoint(tmp_path, 7, tree, META)
    assert path.name == "step_00000007.npz" and latest_checkpoint(tmp_path) == path
    back, step, meta = load_checkpoint(path, like=_tree(0), meta=META)
    assert step == 7 and meta == META and read_checkpoint_meta(path) == META
    assert jax.tree.structure(back) == jax.tree.structure(tree)
    head = back["params"]["head"]
    assert isinstance(head, jax.Array) and head.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(head), np.asarray(tree["params"]["head"]))
    assert isinstance(back["opt"][0], Moments) and back["opt"][0].mu.dtype == jnp.float16
    assert isinstance(back["opt"][1], np.ndarray) and int(back["opt"][0].count) == 3
    assert back["step"] == 3 and type(back["step"]) is int
    assert isinstance(back["scale"], np.float32)
    # a typed key comes back typed, and draws what the original draws
    assert jax.dtypes.issubdtype(back["key"].dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(
        jax.random.normal(back["key"], (4,)), jax.random.normal(tree["key"], (4,))
    )
    np.testing.assert_array_equal(back["raw_key"], tree["raw_key"])
    for a, b in zip(jax.tree.leaves(back["params"]), jax.tree.leaves(tree["params"]), strict=True):
        np.testing.assert_array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))


def test_like_may_be_shapes_only_and_may_be_omitted(tmp_path: Path) -> None:
    tree = {"w": jnp.ones((2, 3)), "k": jax.random.key(1)}
    path = save_checkpoint(tmp_path, 1, tree)
    back = load_checkpoint(path, like=jax.eval_shape(lambda: tree)).tree
    np.testing.assert_array_equal(back["w"], tree["w"])
    assert jax.dtypes.issubdtype(back["k"].dtype, jax.dtypes.prng_key)
    flat = load_checkpoint(path).tree
    assert sorted(flat) == ["k", "w"] and flat["w"].shape == (2, 3)


def test_keeps_the_newest_steps(tmp_path: Path) -> None:
    tree = {"w": jnp.zeros(2)}
    for step in (1, 2, 3, 10, 4):
        save_checkpoint(tmp_path, step, tree)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4, 10]
    assert latest_checkpoint(tmp_path) == tmp_path / "step_00000010.npz"
    for step in (11, 12, 13, 14):
        save_checkpoint(tmp_path / "all", step, tree, keep=None)
    assert len(list_checkpoints(tmp_path / "all")) == 4
    assert latest_checkpoint(tmp_path / "none") is None
    with pytest.raises(AlignlabError, match="keep"):
        save_checkpoint(tmp_path, 20, tree, keep=0)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda t: t["params"]["conv_0"].update(kernel=jnp.zeros((3, 2, 5))),
            "params/conv_0/kernel",
            "shape",
        ),
        (
            lambda t: t["params"]["conv_0"].update(bias=jnp.zeros(4, jnp.int32)),
            "params/conv_0/bias",
            "dtype",
        ),
        (lambda t: t["params"].update(extra=jnp.zeros(1)), "params/extra", "missing"),
        (lambda t: t.pop("scale"), "scale", "not expected"),
        (lambda t: t.update(key=jax.random.PRNGKey(0)), "key", "dtype"),
    ],
)
def test_mismatched_tree_names_the_leaf(
    tmp_path: Path, change: Any, field: str, message: str
) -> None:
    path = save_checkpoint(tmp_path, 1, _tree(), META)
    like = _tree()
    change(like)
    with pytest.raises(AlignlabError, match=message) as err:
        load_checkpoint(path, like=like, meta=META)
    assert err.value.field == field and err.value.file == str(path)


def test_other_meta_names_the_field(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, 1, _tree(), META)
    other = {"env": {"size": (11, 10, 10)}, "lr": 0.001}
    with pytest.raises(AlignlabError, match="another config") as err:
        load_checkpoint(path, like=_tree(), meta=other)
    assert err.value.field == "meta.env.size" and str(path) in str(err.value)
    with pytest.raises(AlignlabError) as err:
        load_checkpoint(path, like=_tree(), meta={**META, "seed": 1})
    assert err.value.field == "meta.seed"
    # tuples and lists are the same JSON
    assert load_checkpoint(path, like=_tree(), meta={"env": {"size": (6, 6, 6)}, "lr": 1e-3})


def test_corrupt_and_foreign_files(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, 1, _tree(), META)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(AlignlabError, match="corrupt or truncated") as err:
        load_checkpoint(path, like=_tree())
    assert err.value.file == str(path)
    save_arrays(path, {"a": np.zeros(1)}, {"x": 1})
    with pytest.raises(AlignlabError, match="not an alignlab-checkpoint"):
        load_checkpoint(path, like=_tree())
    with pytest.raises(AlignlabError, match="not an alignlab-checkpoint"):
        read_checkpoint_meta(path)
    with pytest.raises(AlignlabError, match="not found"):
        load_checkpoint(tmp_path / "step_00000002.npz")


def test_failed_save_leaves_previous_checkpoint_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = save_checkpoint(tmp_path, 1, _tree(1), META)
    calls = {"n": 0}
    write_array = np.lib.format.write_array

    def dies_midway(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("no space left on device")
        write_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", dies_midway)
    with pytest.raises(OSError, match="no space"):
        save_checkpoint(tmp_path, 2, _tree(2), META)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
    assert load_checkpoint(latest_checkpoint(tmp_path) or first, like=_tree(), meta=META).step == 1


def test_stale_temp_files_are_cleared(tmp_path: Path) -> None:
    stale = tmp_path / ".step_00000005.npz.abc123.tmp"
    tmp_path.mkdir(exist_ok=True)
    stale.write_bytes(b"half a checkpoint")
    save_checkpoint(tmp_path, 6, {"w": jnp.zeros(1)})
    assert not stale.exists() and [s for s, _ in list_checkpoints(tmp_path)] == [6]
