"""Strict parsing of Sign Language MNIST CSV files (``.csv`` or ``.csv.gz``).

Two passes, one truth:

* a **fast path** for valid files: a byte whitelist (digits, commas, LF, CRLF) rules out every
  value pandas could silently coerce (``" 7"``, ``"+5"``, ``"1e2"``, ``"0x10"``, ``"1.5"``), then
  a scan for cells of 1000 or more (four significant digits) bounds every value, pandas' C
  parser reads into ``uint16`` (it refuses empty cells, blank lines and ragged rows; a narrower
  dtype would let some pandas versions wrap 256 to 0), and numpy checks the 0..255 range and
  the labels;
* an exact **diagnostic pass** that runs only when the fast path or any check fails: it walks the
  file line by line and raises :class:`~asl_recognition.errors.DatasetError` naming the file, the
  row (1-based as a spreadsheet shows it: the header is row 1) and the column of the first bad
  cell.

Cells are decimal digit strings (``[0-9]+``) whose value is 0..255 (pixels) or a valid label
(0..24 except 9).

>>> import numpy as np
>>> header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
>>> row = "3," + ",".join(["0"] * 784)
>>> images, labels = parse_csv_bytes(f"{header}\\n{row}\\n".encode(), name="tiny.csv")
>>> images.shape, labels.tolist()
((1, 28, 28), [3])
>>> bad = row.replace("0", "1.5", 1)
>>> try:
...     parse_csv_bytes(f"{header}\\n{bad}\\n".encode(), name="tiny.csv")
... except DatasetError as exc:
...     print(exc)
tiny.csv row 2, column pixel1: expected an integer 0..255, got '1.5'
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import zlib
from pathlib import Path
from typing import NoReturn

import numpy as np
import numpy.typing as npt

from asl_recognition.data.arrays import IMAGE_SHAPE, NUM_PIXELS
from asl_recognition.data.letters import EXCLUDED_LABELS
from asl_recognition.errors import DatasetError

__all__ = ["COLUMNS", "HEADER", "parse_csv_bytes", "read_csv_file"]

_log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = ("label", *(f"pixel{i}" for i in range(1, NUM_PIXELS + 1)))
HEADER: str = ",".join(COLUMNS)
_NUM_FIELDS = len(COLUMNS)
_BOM = b"\xef\xbb\xbf"
_ALLOWED = b"0123456789,\n\r"
_DIGITS = re.compile(rb"[0-9]+")
# Four significant digits: a cell of 1000 or more, out of range and too wide for a silent uint16 read.
_WIDE_CELL = re.compile(rb"[1-9][0-9]{3}")
# A whole valid data row: a valid label, then 784 values in 0..255 (leading zeros allowed).
_LABEL_RE = rb"0*(?:[0-8]|1[0-9]|2[0-4])"
_PIXEL_RE = rb"0*(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_ROW = re.compile(_LABEL_RE + rb"(?:," + _PIXEL_RE + rb"){" + str(NUM_PIXELS).encode() + rb"}")
_VALID_LABEL_LUT = np.zeros(256, dtype=bool)
_VALID_LABEL_LUT[[i for i in range(26) if i not in EXCLUDED_LABELS]] = True


def read_csv_file(path: Path) -> bytes:
    """Return the bytes of a ``.csv`` or gzip-compressed CSV file.

    Raises:
        DatasetError: the file cannot be read, or claims to be gzip and is not.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: no such file") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if raw[:2] == b"\x1f\x8b" or path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: not a valid gzip file: {exc}") from exc
    return raw


def parse_csv_bytes(
    data: bytes, *, name: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Parse the bytes of a Sign MNIST CSV into ``(images (N, 28, 28) uint8, labels (N,) int64)``.

    Args:
        data: the whole file content (already decompressed).
        name: how to name the file in error messages.

    Raises:
        DatasetError: the first problem found, with file, row and column.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        raise DatasetError(f"{name}: file is empty; expected a header line '{_short_header()}'")
    newline = data.find(b"\n")
    header_line = data if newline < 0 else data[:newline]
    body = b"" if newline < 0 else data[newline + 1 :]
    _check_header(header_line.removesuffix(b"\r"), name)
    if not body:
        raise DatasetError(f"{name}: no data rows after the header (row 2 is missing)")
    parsed = _fast_parse(body)
    if parsed is None:
        _diagnose(body, name)  # raises with the exact cell
    assert parsed is not None
    labels_u8, pixels = parsed
    images = np.ascontiguousarray(pixels).reshape(-1, *IMAGE_SHAPE)
    return images, labels_u8.astype(np.int64)


def _short_header() -> str:
    return "label,pixel1,...,pixel784"


def _check_header(line: bytes, name: str) -> None:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{name} row 1: header is not valid UTF-8 text (byte {line[exc.start:exc.end]!r} "
            f"at offset {exc.start}); expected '{_short_header()}'"
        ) from None
    if text == HEADER:
        return
    fields = text.split(",")
    if all(_DIGITS.fullmatch(f.encode()) for f in fields):
        raise DatasetError(
            f"{name} row 1: missing header; found a data row, expected '{_short_header()}'"
        )
    for i, (got, want) in enumerate(zip(fields, COLUMNS, strict=False)):
        if got != want:
            raise DatasetError(
                f"{name} row 1, column {i + 1}: header field is {got!r}, expected {want!r} "
                f"(header must be '{_short_header()}')"
            )
    raise DatasetError(
        f"{name} row 1: header has {len(fields)} columns, expected {_NUM_FIELDS} "
        f"('{_short_header()}')"
    )


def _fast_parse(body: bytes) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]] | None:
    """Vectorised parse of a body that is probably valid; ``None`` when anything is off."""
    import pandas as pd

    if body.translate(None, _ALLOWED):
        return None  # a byte other than digits, comma, CR, LF
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return None  # a lone CR (pandas would take it as a line break)
    if _WIDE_CELL.search(body):
        return None  # a value of 1000 or more
    expected_rows = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    try:
        frame = pd.read_csv(
            io.BytesIO(body),
            header=None,
            dtype=np.uint16,
            skip_blank_lines=False,
            engine="c",
        )
    except Exception as exc:  # any parser complaint -> let the diagnostic pass name the cell
        _log.debug("fast CSV parse failed (%s); running the diagnostic pass", exc)
        return None
    if frame.shape != (expected_rows, _NUM_FIELDS):
        return None
    wide = frame.to_numpy(dtype=np.uint16)
    if wide.max(initial=0) > 255:
        return None  # a value 256..999
    arr = wide.astype(np.uint8)
    labels = arr[:, 0]
    if not _VALID_LABEL_LUT[labels].all():
        return None
    return labels.copy(), arr[:, 1:]


def _diagnose(body: bytes, name: str) -> NoReturn:
    """Find the first bad row/cell of ``body`` and raise a precise :class:`DatasetError`."""
    lines = body.split(b"\n")
    ends_with_newline = lines[-1] == b""
    if ends_with_newline:
        lines.pop()
    for index, raw in enumerate(lines):
        row = index + 2  # the header is row 1
        line = raw.removesuffix(b"\r")
        if _ROW.fullmatch(line):
            continue
        where = f"{name} row {row}"
        if not line.strip():
            raise DatasetError(f"{where}: blank line; every row needs {_NUM_FIELDS} fields")
        fields = line.split(b",")
        for col, cell in enumerate(fields[:_NUM_FIELDS]):
            _check_cell(cell, f"{where}, column {COLUMNS[col]}")
        if len(fields) > _NUM_FIELDS:
            raise DatasetError(
                f"{where}, column {_NUM_FIELDS + 1} (after pixel784): extra field "
                f"{_show(fields[_NUM_FIELDS])}; expected {_NUM_FIELDS} fields, got {len(fields)}"
            )
        if len(fields) < _NUM_FIELDS:
            last = index == len(lines) - 1 and not ends_with_newline
            hint = " (truncated last row: the file ends in the middle of it)" if last else ""
            raise DatasetError(
                f"{where}, column {COLUMNS[len(fields)]}: missing; expected {_NUM_FIELDS} "
                f"fields, got {len(fields)}{hint}"
            )
        raise DatasetError(f"{where}: malformed row")  # pragma: no cover - cells checked above
    raise DatasetError(f"{name}: could not be parsed as a Sign MNIST CSV")  # pragma: no cover


def _check_cell(cell: bytes, where: str) -> None:
    is_label = where.endswith("column label")
    expected = "a label 0-24 except 9" if is_label else "an integer 0..255"
    try:
        cell.decode("utf-8")
    except UnicodeDecodeError:
        raise DatasetError(
            f"{where}: not valid UTF-8 text ({_show(cell)}); expected {expected}"
        ) from None
    if cell == b"":
        raise DatasetError(f"{where}: empty cell; expected {expected}")
    if not _DIGITS.fullmatch(cell):
        raise DatasetError(f"{where}: expected {expected}, got {_show(cell)}")
    value = int(cell)
    if is_label:
        if value in EXCLUDED_LABELS:
            letter = "J" if value == 9 else "Z"
            raise DatasetError(
                f"{where}: invalid label {value} ({letter} needs motion and never occurs; "
                "valid labels are 0-24 except 9)"
            )
        if value > 25:
            raise DatasetError(
                f"{where}: invalid label {value} (out of range; valid labels are 0-24 except 9)"
            )
    elif value > 255:
        raise DatasetError(f"{where}: expected {expected}, got {value} (out of range)")


def _show(cell: bytes) -> str:
    """Quote a cell for a message: text when it decodes, bytes otherwise; long cells cut."""
    try:
        text: str = repr(cell.decode("utf-8"))
    except UnicodeDecodeError:
        text = repr(cell)
    return text if len(text) <= 40 else text[:37] + "..."
