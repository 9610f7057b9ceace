"""Dataset: from_arrays validation, immutability, subset, fingerprints, verify, load_dataset search."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pytest

from asl_recognition.data import OFFICIAL_ROWS, Dataset, load_dataset
from asl_recognition.data._csv import HEADER
from asl_recognition.data._synthetic import synthetic_groups, to_csv_bytes
from asl_recognition.errors import (
    AslRecognitionError,
    DatasetError,
    DatasetIntegrityError,
    InvalidParameterError,
)

IMAGES, LABELS, _ = synthetic_groups(n_groups=5, per_group=2, seed=5)
CSV = to_csv_bytes(IMAGES, LABELS)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ASL_DATA_DIR", raising=False)
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ASL_DOWNLOAD", "0")


def test_from_arrays_copies_and_freezes() -> None:
    images = IMAGES.copy()
    ds = Dataset.from_arrays(images.reshape(len(images), -1), LABELS.tolist(), name="mine")
    images[0, 0, 0] ^= 1
    assert ds.images[0, 0, 0] == IMAGES[0, 0, 0]
    assert ds.images.shape == (10, 28, 28) and ds.labels.dtype == np.int64
    assert ds.name == "mine" and ds.source is None and len(ds) == 10
    with pytest.raises(ValueError, match="read-only"):
        ds.images[0, 0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        ds.labels[0] = 1
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]


def test_letters() -> None:
    ds = Dataset.from_arrays(IMAGES[:3], [0, 10, 24])
    assert ds.letters.tolist() == ["A", "K", "Y"]


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((2, 27, 28)), [0, 1], "shape"),
        (np.full((2, 784), 256), [0, 1], "0..255"),
        (np.full((2, 784), -1), [0, 1], "0..255"),
        (np.full((2, 784), 1.5), [0, 1], "whole numbers"),
        (np.zeros((2, 784)), [0, 9], "9"),
        (np.zeros((2, 784)), [0, 25], "25"),
        (np.zeros((2, 784)), [0, -1], "-1"),
        (np.zeros((2, 784)), [0], "differ in length"),
        (np.zeros((2, 784)), [0.0, 1.0], "integers"),
        (np.zeros((2, 784)), [[0, 1]], "1-dimensional"),
    ],
)
def test_from_arrays_rejects(images: object, labels: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Dataset.from_arrays(images, labels)


def test_subset_returns_a_new_dataset() -> None:
    ds = Dataset.from_arrays(IMAGES, LABELS, name="x")
    sub = ds.subset([3, 1])
    np.testing.assert_array_equal(sub.images, IMAGES[[3, 1]])
    assert sub.name == "x" and len(ds) == 10 and not sub.images.flags.writeable
    assert len(ds.subset(np.equal(LABELS, LABELS[0]))) == 2
    assert len(ds.subset(slice(0, 4))) == 4
    assert len(ds.subset([])) == 0
    with pytest.raises(InvalidParameterError, match="out of range"):
        ds.subset([10])
    with pytest.raises(InvalidParameterError, match="integers"):
        ds.subset(np.array([0.5]))
    with pytest.raises(InvalidParameterError, match="mask"):
        ds.subset(np.ones(3, dtype=bool))


def test_fingerprint_depends_on_content_only(tmp_path: Path) -> None:
    a = Dataset.from_arrays(IMAGES, LABELS)
    b = Dataset.from_arrays(IMAGES.copy(), LABELS.copy(), name="other")
    assert a.fingerprint == b.fingerprint and a.fingerprint.startswith("sha256:")
    changed = IMAGES.copy()
    changed[4, 10, 10] ^= 1
    assert Dataset.from_arrays(changed, LABELS).fingerprint != a.fingerprint
    relabelled = LABELS.copy()
    relabelled[0] = 23
    assert Dataset.from_arrays(IMAGES, relabelled).fingerprint != a.fingerprint
    assert a.subset([0]).fingerprint != a.fingerprint


def test_errors_derive_from_the_root() -> None:
    assert issubclass(DatasetIntegrityError, DatasetError)
    assert issubclass(DatasetError, AslRecognitionError)


# ----------------------------------------------------------------------- verify in from_csv


def test_verify_auto_checks_official_names(tmp_path: Path) -> None:
    for name in ("sign_mnist_train.csv", "sign_mnist_test.csv.gz"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(CSV) if name.endswith(".gz") else CSV)
        with pytest.raises(DatasetIntegrityError, match="differs from the official") as info:
            Dataset.from_csv(path)
        assert name in str(info.value) and "allow_modified=True" in str(info.value)


def test_verify_auto_skips_other_names(tmp_path: Path) -> None:
    path = tmp_path / "my_letters.csv"
    path.write_bytes(CSV)
    assert Dataset.from_csv(path).name == "my_letters"


def test_allow_modified_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "sign_mnist_test.csv"
    path.write_bytes(CSV)
    with caplog.at_level(logging.WARNING):
        ds = Dataset.from_csv(path, allow_modified=True)
    assert ds.name == "test" and "differs from the official" in caplog.text


def test_verify_false_skips(tmp_path: Path) -> None:
    path = tmp_path / "sign_mnist_train.csv"
    path.write_bytes(CSV)
    assert len(Dataset.from_csv(path, verify=False)) == 10


def test_verify_true_needs_a_name_or_row_count(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(CSV)
    with pytest.raises(DatasetIntegrityError, match="cannot verify"):
        Dataset.from_csv(path, verify=True)


def test_verify_true_matches_by_row_count(tmp_path: Path) -> None:
    rows = OFFICIAL_ROWS["test"]
    path = tmp_path / "renamed.csv"
    path.write_bytes(
        (HEADER + "\n").encode() + ("0," + ",".join(["7"] * 784) + "\n").encode() * rows
    )
    with pytest.raises(DatasetIntegrityError, match="sign_mnist_test.csv"):
        Dataset.from_csv(path, verify=True, cache=False)


def test_bad_verify_value(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="verify"):
        Dataset.from_csv(tmp_path / "x.csv", verify="yes")  # type: ignore[arg-type]


# ----------------------------------------------------------------------- load_dataset search


def _place(folder: Path, relative: str, data: bytes = CSV) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if relative.endswith(".gz") else data)
    return path


@pytest.mark.parametrize(
    "layout",
    [
        "sign_mnist_test.csv",
        "sign_mnist_test.csv.gz",
        "sign_mnist_test/sign_mnist_test.csv",
        "sign-language-mnist/sign_mnist_test.csv",
        "sign-language-mnist/sign_mnist_test/sign_mnist_test.csv.gz",
    ],
)
def test_layouts_are_found_and_always_verified(tmp_path: Path, layout: str) -> None:
    path = _place(tmp_path / "data", layout)
    with pytest.raises(DatasetIntegrityError):
        load_dataset("test", tmp_path / "data")
    ds = load_dataset("test", tmp_path / "data", allow_modified=True)
    assert ds.source == path and ds.name == "test" and len(ds) == 10


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = _place(tmp_path / "explicit", "sign_mnist_train.csv")
    env = _place(tmp_path / "env", "sign_mnist_train.csv")
    cached = _place(tmp_path / "cache" / "data", "sign_mnist_train.csv")
    monkeypatch.setenv("ASL_DATA_DIR", str(tmp_path / "env"))
    assert load_dataset("train", tmp_path / "explicit", allow_modified=True).source == explicit
    assert load_dataset("train", tmp_path / "nowhere", allow_modified=True).source == env
    monkeypatch.delenv("ASL_DATA_DIR")
    assert load_dataset("train", allow_modified=True).source == cached


def test_not_found_lists_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASL_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DatasetError) as info:
        load_dataset("test", tmp_path / "explicit", download=False)
    message = str(info.value)
    assert "sign_mnist_test.csv not found and download is disabled" in message
    for place in (tmp_path / "explicit", tmp_path / "env", tmp_path / "cache" / "data"):
        assert str(place) in message


def test_bad_split_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="available: test, train"):
        load_dataset("validation", tmp_path)  # type: ignore[arg-type]
