"""CSV validation: every malformed class names file, row (header = row 1) and column."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from asl_recognition.data import Dataset
from asl_recognition.data._csv import HEADER
from asl_recognition.data._synthetic import synthetic_groups, to_csv_bytes
from asl_recognition.errors import DatasetError

IMAGES, LABELS, _ = synthetic_groups(n_groups=3, per_group=2, seed=1)  # 6 rows


def _good() -> bytes:
    return to_csv_bytes(IMAGES, LABELS)


def _lines() -> list[str]:
    return _good().decode().split("\n")  # [header, row2..row7, ""]


def _with_cell(row: int, col: int, value: str) -> bytes:
    """The good CSV with spreadsheet row ``row`` (header=1), 0-based field ``col`` replaced."""
    lines = _lines()
    fields = lines[row - 1].split(",")
    fields[col] = value
    lines[row - 1] = ",".join(fields)
    return "\n".join(lines).encode()


def _load(tmp_path: Path, data: bytes, name: str = "bad.csv") -> Dataset:
    path = tmp_path / name
    path.write_bytes(data)
    return Dataset.from_csv(path, cache=False)


def _expect(tmp_path: Path, data: bytes, *parts: str, name: str = "bad.csv") -> str:
    with pytest.raises(DatasetError) as info:
        _load(tmp_path, data, name)
    message = str(info.value)
    assert name in message
    for part in parts:
        assert part in message, message
    assert "Traceback" not in message and "pandas" not in message.lower()
    return message


def test_valid_file_round_trips(tmp_path: Path) -> None:
    ds = _load(tmp_path, _good(), "mine.csv")
    assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images, IMAGES)
    np.testing.assert_array_equal(ds.labels, LABELS)
    assert ds.name == "mine" and ds.source == tmp_path / "mine.csv"


@pytest.mark.parametrize(
    ("newline", "bom", "gz"),
    [("\r\n", False, False), ("\n", True, False), ("\r\n", True, True), ("\n", False, True)],
)
def test_line_endings_bom_and_gzip_agree(
    tmp_path: Path, newline: str, bom: bool, gz: bool
) -> None:
    reference = _load(tmp_path, _good(), "ref.csv")
    data = to_csv_bytes(IMAGES, LABELS, newline=newline, bom=bom)
    name = "other.csv.gz" if gz else "other.csv"
    other = _load(tmp_path, gzip.compress(data) if gz else data, name)
    assert other.fingerprint == reference.fingerprint
    assert other.name == "other"
    if newline == "\r\n":
        assert data != _good()  # the bytes differ, the content fingerprint does not


def test_missing_final_newline_is_fine(tmp_path: Path) -> None:
    assert len(_load(tmp_path, _good().rstrip(b"\n"))) == len(LABELS)


BAD_PIXELS = ["1.5", "", " 7", "7 ", "1e2", "+5", "0x10", "256", "-1", "abc", "1,000"[:1] + "a"]


@pytest.mark.parametrize("value", BAD_PIXELS)
def test_bad_pixel_is_named(tmp_path: Path, value: str) -> None:
    message = _expect(tmp_path, _with_cell(4, 301, value), "row 4", "column pixel301")
    assert "0..255" in message


@pytest.mark.parametrize("value", ["9", "25", "-1", "26", "300", "x", "", "2.0"])
def test_bad_label_is_named(tmp_path: Path, value: str) -> None:
    _expect(tmp_path, _with_cell(3, 0, value), "row 3", "column label")


def test_value_in_last_row_last_column(tmp_path: Path) -> None:
    _expect(tmp_path, _with_cell(7, 784, "256"), "row 7", "column pixel784", "256")


def test_missing_header(tmp_path: Path) -> None:
    data = "\n".join(_lines()[1:]).encode()
    _expect(tmp_path, data, "row 1", "missing header")


def test_wrong_header_field(tmp_path: Path) -> None:
    data = _good().replace(b"pixel17,", b"pixel17x,", 1)
    _expect(tmp_path, data, "row 1", "column 18", "pixel17x", "'pixel17'")


def test_header_with_wrong_column_count(tmp_path: Path) -> None:
    data = _good().replace(b",pixel784\n", b"\n", 1)
    _expect(tmp_path, data, "row 1", "784 columns")


def test_empty_file(tmp_path: Path) -> None:
    _expect(tmp_path, b"", "empty")


def test_header_only(tmp_path: Path) -> None:
    _expect(tmp_path, (HEADER + "\n").encode(), "no data rows")


def test_row_with_too_few_fields(tmp_path: Path) -> None:
    lines = _lines()
    lines[4] = lines[4].rsplit(",", 1)[0]  # row 5 loses pixel784
    _expect(tmp_path, "\n".join(lines).encode(), "row 5", "column pixel784", "got 784")


def test_row_with_extra_field(tmp_path: Path) -> None:
    lines = _lines()
    lines[2] += ",5"
    _expect(tmp_path, "\n".join(lines).encode(), "row 3", "column 786", "extra field")


def test_trailing_comma_is_an_extra_field(tmp_path: Path) -> None:
    lines = _lines()
    lines[1] += ","
    _expect(tmp_path, "\n".join(lines).encode(), "row 2", "column 786")


def test_truncated_last_row(tmp_path: Path) -> None:
    data = _good()
    message = _expect(tmp_path, data[: len(data) - 1000], "row 7", "truncated last row")
    assert "column pixel" in message


@pytest.mark.parametrize("blank", ["", "   ", "\r"])
def test_blank_line_in_the_middle(tmp_path: Path, blank: str) -> None:
    lines = _lines()
    lines.insert(3, blank)  # becomes row 4
    _expect(tmp_path, "\n".join(lines).encode(), "row 4", "blank line")


def test_blank_line_at_the_end(tmp_path: Path) -> None:
    _expect(tmp_path, _good() + b"\n", "row 8", "blank line")


def test_non_utf8_garbage_in_a_cell(tmp_path: Path) -> None:
    data = _with_cell(5, 42, "X").replace(b",X,", b",\xff\xfe,", 1)
    _expect(tmp_path, data, "row 5", "column pixel42", "UTF-8")


def test_non_utf8_header(tmp_path: Path) -> None:
    _expect(tmp_path, b"\xff\xfe" + _good(), "row 1", "UTF-8")


def test_lone_carriage_return(tmp_path: Path) -> None:
    data = _with_cell(6, 100, "7\r8")
    _expect(tmp_path, data, "row 6", "column pixel100")


def test_corrupt_gzip(tmp_path: Path) -> None:
    _expect(tmp_path, b"\x1f\x8bnot really gzip", "gzip", name="x.csv.gz")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nope.csv"):
        Dataset.from_csv(tmp_path / "nope.csv", cache=False)
