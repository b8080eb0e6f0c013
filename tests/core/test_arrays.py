"""``save_arrays`` / ``load_arrays``: one ``.npz`` with JSON metadata, atomic, no pickle."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from alignlab.core import AlignlabError, load_arrays, read_arrays_meta, save_arrays


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_keeps_values_dtypes_and_meta(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "a.npz"
    arrays = {
        "x": np.arange(12, dtype=np.float32).reshape(3, 4),
        "mask": np.array([True, False]),
        "conv0/w": np.ones((2, 2), np.int8),  # names may hold slashes
        "half": np.array([1.5, -2.25, 3e3], dtype=ml_dtypes.bfloat16),
        "scalar": np.int64(7),
    }
    save_arrays(path, arrays, {"size": (3, 4), "name": "t", "nan": float("nan")}, compress=compress)
    back, meta = load_arrays(path, required=("x", "mask"))
    assert sorted(back) == sorted(arrays)
    for name, arr in arrays.items():
        assert back[name].dtype == np.asarray(arr).dtype, name
        np.testing.assert_array_equal(back[name], arr)
    assert meta == {"size": [3, 4], "name": "t", "nan": None}  # strict JSON
    assert read_arrays_meta(path) == meta
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]  # no temp file left
    with np.load(path, allow_pickle=False) as z:  # still a plain .npz
        np.testing.assert_array_equal(z["x"], arrays["x"])


def test_plain_npz_loads_with_empty_meta(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.zeros(3))
    arrays, meta = load_arrays(path)
    assert meta == {} and list(arrays) == ["a"]


def test_refuses_reserved_names_and_object_arrays(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    with pytest.raises(AlignlabError, match="reserved") as err:
        save_arrays(path, {"__meta__": np.zeros(1)}, {})
    assert err.value.field == "__meta__"
    with pytest.raises(AlignlabError, match="pickle") as err:
        save_arrays(path, {"o": np.array([{}, 1], dtype=object)}, {})
    assert err.value.field == "o"
    with pytest.raises(AlignlabError, match="JSON"):
        save_arrays(path, {"a": np.zeros(1)}, {"bad": object()})
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_clear_errors_for_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    with pytest.raises(AlignlabError, match="file not found") as err:
        load_arrays(path)
    assert err.value.file == str(path)
    save_arrays(path, {"a": np.arange(1000.0)}, {"k": 1})
    with pytest.raises(AlignlabError, match="missing array") as err:
        load_arrays(path, required=("a", "b"))
    assert err.value.field == "b"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AlignlabError, match="corrupt or truncated") as err:
        load_arrays(path)
    assert err.value.file == str(path)
    path.write_bytes(b"junk")
    with pytest.raises(AlignlabError, match="corrupt or truncated"):
        load_arrays(path)


def test_metadata_that_is_not_a_json_object(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, a=np.zeros(1), __meta__=np.asarray("{not json"))
    with pytest.raises(AlignlabError, match="not valid JSON") as err:
        load_arrays(path)
    assert err.value.field == "__meta__"
    np.savez(path, a=np.zeros(1), __meta__=np.asarray("[1, 2]"))
    with pytest.raises(AlignlabError, match="JSON object"):
        load_arrays(path)
    np.savez(path, a=np.zeros(1), __meta__=np.arange(3))
    with pytest.raises(AlignlabError, match="JSON string"):
        read_arrays_meta(path)


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.npz"
    save_arrays(path, {"a": np.zeros(3)}, {"v": 1})

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        save_arrays(path, {"a": np.ones(3)}, {"v": 2})
    monkeypatch.undo()
    assert load_arrays(path)[1] == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]
