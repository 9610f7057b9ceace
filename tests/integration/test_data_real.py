"""The data package on the real Sign Language MNIST files (ASL_DATA_DIR or ../shared/data)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from asl_recognition.data import OFFICIAL_FINGERPRINTS, OFFICIAL_ROWS, Dataset, load_dataset
from asl_recognition.errors import DatasetIntegrityError

pytestmark = pytest.mark.realdata

DATA_DIR = Path(
    os.environ.get("ASL_DATA_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sign-language-mnist"
)

# Per-label row counts from the data README.
LABEL_COUNTS = {
    "train": [
        1126,
        1010,
        1144,
        1196,
        957,
        1204,
        1090,
        1013,
        1162,
        1114,
        1241,
        1055,
        1151,
        1196,
        1088,
        1279,
        1294,
        1199,
        1186,
        1161,
        1082,
        1225,
        1164,
        1118,
    ],
    "test": [
        331,
        432,
        310,
        245,
        498,
        247,
        348,
        436,
        288,
        331,
        209,
        394,
        291,
        246,
        347,
        164,
        144,
        246,
        248,
        266,
        346,
        206,
        267,
        332,
    ],
}
VALID = [0, 1, 2, 3, 4, 5, 6, 7, 8, *range(10, 25)]


@pytest.fixture(scope="module")
def real() -> dict[str, Dataset]:
    if not (DATA_DIR / "sign_mnist_train.csv").is_file():
        pytest.skip(f"real data not found in {DATA_DIR} (set ASL_DATA_DIR)")
    return {
        "train": load_dataset("train", DATA_DIR, download=False),
        "test": load_dataset("test", DATA_DIR, download=False),
    }


@pytest.mark.parametrize("split", ["train", "test"])
def test_official_files_load_and_match(real: dict[str, Dataset], split: str) -> None:
    ds = real[split]
    assert ds.name == split and len(ds) == OFFICIAL_ROWS[split]  # type: ignore[index]
    assert ds.fingerprint == OFFICIAL_FINGERPRINTS[split]  # type: ignore[index]
    assert ds.images.shape == (len(ds), 28, 28) and ds.images.dtype == np.uint8
    counts = np.bincount(ds.labels, minlength=25)
    assert counts[VALID].tolist() == LABEL_COUNTS[split] and counts[9] == 0
    assert len(OFFICIAL_ROWS) == 2


def test_crlf_copy_verifies_and_modified_copy_fails(real: dict[str, Dataset], tmp_path: Path) -> None:
    raw = (DATA_DIR / "sign_mnist_test.csv").read_bytes()
    crlf = tmp_path / "crlf" / "sign_mnist_test.csv"
    crlf.parent.mkdir()
    crlf.write_bytes(raw.replace(b"\n", b"\r\n"))
    assert Dataset.from_csv(crlf, cache=False).fingerprint == OFFICIAL_FINGERPRINTS["test"]
    modified = tmp_path / "mod" / "sign_mnist_test.csv"
    modified.parent.mkdir()
    header, first, rest = raw.split(b"\n", 2)
    cells = first.split(b",")
    cells[400] = b"0" if cells[400] != b"0" else b"1"
    modified.write_bytes(b"\n".join([header, b",".join(cells), rest]))
    with pytest.raises(DatasetIntegrityError, match="differs from the official"):
        Dataset.from_csv(modified, cache=False)


@pytest.mark.slow
def test_grouped_validation_tracks_test_accuracy(real: dict[str, Dataset]) -> None:
    """Logistic regression: |validation acc - test acc| <= 0.05 with the default split.

    To stay under a minute on a busy 2-core machine the model is fitted on a seeded subsample
    of 8,000 rows of the training part; validation and test accuracy are both measured on
    their full sets with that same model (a random split gives a gap of ~0.3 here).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1):  # BLAS threads only thrash on a shared 2-core machine
        train, val = real["train"].split_validation()
        assert abs(len(val) / len(real["train"]) - 0.2) < 0.03
        rows = np.random.default_rng(0).choice(len(train), size=8000, replace=False)
        fit = train.subset(rows)
        model = LogisticRegression(max_iter=200)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(fit.images.reshape(len(fit), -1) / 255.0, fit.labels)
        val_acc = model.score(val.images.reshape(len(val), -1) / 255.0, val.labels)
        test = real["test"]
        test_acc = model.score(test.images.reshape(len(test), -1) / 255.0, test.labels)
    assert abs(val_acc - test_acc) <= 0.05, (val_acc, test_acc)
