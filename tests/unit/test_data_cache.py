"""The binary cache: hit, miss, invalidation when the CSV changes, corrupt entries, read-only dirs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from asl_recognition.data import Dataset, default_cache_dir
from asl_recognition.data import _csv as csv_module
from asl_recognition.data._synthetic import synthetic_groups, to_csv_bytes

IMAGES, LABELS, _ = synthetic_groups(n_groups=4, per_group=2, seed=3)


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count real CSV parses (the cache must avoid them)."""
    calls: list[int] = []
    real = csv_module.parse_csv_bytes

    def counting(data: bytes, *, name: str) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
        calls.append(1)
        return real(data, name=name)

    monkeypatch.setattr("asl_recognition.data.dataset.parse_csv_bytes", counting)
    return calls


def _write(path: Path, images: np.ndarray = IMAGES, labels: np.ndarray = LABELS) -> Path:  # type: ignore[type-arg]
    path.write_bytes(to_csv_bytes(images, labels))
    return path


def _entry(cache: Path) -> Path:
    (entry,) = (cache / "arrays").iterdir()
    return entry


def test_hit_after_miss(tmp_path: Path, parse_calls: list[int]) -> None:
    csv = _write(tmp_path / "d.csv")
    first = Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    second = Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    assert len(parse_calls) == 1
    np.testing.assert_array_equal(first.images, second.images)
    assert first.fingerprint == second.fingerprint
    assert not second.images.flags.writeable
    entry = _entry(tmp_path / "c")
    assert sorted(p.name for p in entry.iterdir()) == ["images.npy", "labels.npy", "meta.json"]


def test_cache_false_neither_reads_nor_writes(tmp_path: Path, parse_calls: list[int]) -> None:
    csv = _write(tmp_path / "d.csv")
    Dataset.from_csv(csv, cache=False, cache_dir=tmp_path / "c")
    Dataset.from_csv(csv, cache=False, cache_dir=tmp_path / "c")
    assert len(parse_calls) == 2 and not (tmp_path / "c").exists()


def test_env_var_selects_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    Dataset.from_csv(_write(tmp_path / "d.csv"))
    assert (tmp_path / "envcache" / "arrays").is_dir()


def test_changed_csv_invalidates(tmp_path: Path, parse_calls: list[int]) -> None:
    csv = _write(tmp_path / "d.csv")
    Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    changed = LABELS.copy()
    changed[0] = 5 if changed[0] != 5 else 6
    _write(csv, labels=changed)  # same size, new mtime
    st = csv.stat()
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    ds = Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    assert len(parse_calls) == 2
    assert ds.labels[0] == changed[0]


def test_replaced_file_with_same_mtime_invalidates(tmp_path: Path, parse_calls: list[int]) -> None:
    csv = _write(tmp_path / "d.csv")
    Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    st = csv.stat()
    other = _write(tmp_path / "other.csv", labels=LABELS[::-1].copy())
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, csv)  # same size and mtime, new inode
    ds = Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    assert len(parse_calls) == 2
    np.testing.assert_array_equal(ds.labels, LABELS[::-1])


@pytest.mark.parametrize("damage", ["truncate_npy", "garble_npy", "bad_json", "swap_pixels"])
def test_corrupt_entry_is_rebuilt(tmp_path: Path, parse_calls: list[int], damage: str) -> None:
    csv = _write(tmp_path / "d.csv")
    good = Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    entry = _entry(tmp_path / "c")
    images_npy = entry / "images.npy"
    if damage == "truncate_npy":
        images_npy.write_bytes(images_npy.read_bytes()[:200])
    elif damage == "garble_npy":
        images_npy.write_bytes(b"\x93NUMPY garbage" * 10)
    elif damage == "bad_json":
        (entry / "meta.json").write_text("{not json")
    else:  # well-formed .npy with different pixels: only the fingerprint check catches it
        np.save(images_npy, np.zeros_like(IMAGES))
    ds = Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    assert len(parse_calls) == 2
    np.testing.assert_array_equal(ds.images, good.images)
    Dataset.from_csv(csv, cache_dir=tmp_path / "c")  # the rebuilt entry is a hit again
    assert len(parse_calls) == 2


def test_pickled_npy_is_never_loaded(tmp_path: Path, parse_calls: list[int]) -> None:
    csv = _write(tmp_path / "d.csv")
    Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    np.save(_entry(tmp_path / "c") / "labels.npy", np.array([object()] * 8), allow_pickle=True)
    Dataset.from_csv(csv, cache_dir=tmp_path / "c")
    assert len(parse_calls) == 2


def test_unwritable_cache_dir_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    csv = _write(tmp_path / "d.csv")
    cache = tmp_path / "not_a_dir"
    cache.write_text("a file where the cache dir should be (unwritable, even for root)")
    ds = Dataset.from_csv(csv, cache_dir=cache)
    assert len(ds) == len(LABELS)
    assert "could not write the data cache" in caplog.text
    assert len(Dataset.from_csv(csv, cache_dir=cache)) == len(LABELS)


def test_group_cache_hit_and_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = Dataset.from_arrays(IMAGES, LABELS)
    groups = ds.groups(cache=True, cache_dir=tmp_path)
    (cached,) = (tmp_path / "groups").iterdir()
    calls: list[int] = []

    def fake(*args: object, **kwargs: object) -> np.ndarray:  # type: ignore[type-arg]
        calls.append(1)
        return groups.copy()

    monkeypatch.setattr("asl_recognition.data._split.near_duplicate_groups", fake)
    np.testing.assert_array_equal(ds.groups(cache=True, cache_dir=tmp_path), groups)
    assert calls == []
    cached.write_bytes(b"garbage")
    np.testing.assert_array_equal(ds.groups(cache=True, cache_dir=tmp_path), groups)
    assert calls == [1]
    ds.groups(threshold=0.05, cache=True, cache_dir=tmp_path)  # other params: other entry
    assert len(list((tmp_path / "groups").iterdir())) == 2
