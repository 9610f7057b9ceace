"""Parsing of scoring request bodies: every format ``score.py`` accepts, validated in one place.

Accepted bodies (``Content-Type`` in brackets):

* ``{"data": [{"pixel1": 0, ..., "pixel784": 0}, ...]}`` -- the seed project's / AutoML v1
  format, rows as ``DataFrame.to_dict(orient="index")`` builds them [application/json];
* ``{"Inputs": {"data": [...]}}`` (AutoML v2 style; ``GlobalParameters`` is allowed and ignored);
* ``{"data": [[784 numbers], ...]}``, ``{"data": [[[28 x 28]], ...]}`` and a bare top-level
  list of either;
* ``{"images": ["<base64 PNG/JPEG or data: URL>", ...]}``;
* a raw image upload [image/png, image/jpeg, application/octet-stream] or a multipart form
  with image files [multipart/form-data].

Options ``top_k`` (int) and ``return_images`` (bool) may be given as top-level JSON keys, form
fields, or query parameters. Every problem raises :class:`~asl_recognition.errors.RequestError`
with the HTTP status to answer (400, 413 or 415) and a message that names the field, row and
column.

>>> req = parse_request(b'{"data": [[0, 0, 0]]}', "application/json")
Traceback (most recent call last):
...
asl_recognition.errors.RequestError: 'data' must have shape (N, 28, 28) or (N, 784), got (1, 3)
>>> parse_request(b'[[' + b','.join([b'7'] * 784) + b']]', "application/json").images.shape
(1, 28, 28)
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import email.parser
import email.policy
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._validation import Interval, check_param
from asl_recognition.data.arrays import NUM_PIXELS, as_image_batch
from asl_recognition.errors import ConfigurationError, InvalidParameterError, RequestError
from asl_recognition.images import DEFAULT_MAX_IMAGE_PIXELS, ImageTooLargeError, observe_image
from asl_recognition.photo.pipeline import HandObservation

try:  # orjson parses pixel rows faster than the standard library (docs/measurements.md)
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only without the serve extra
    _orjson = None  # type: ignore[assignment]
    import json as _json

__all__ = ["PIXEL_KEYS", "ScoringLimits", "ScoringRequest", "json_loads", "parse_request", "tensor_request"]

#: Column names of one image row, in order (the CSV header minus ``label``).
PIXEL_KEYS: list[str] = [f"pixel{i}" for i in range(1, NUM_PIXELS + 1)]
_PIXEL_KEY_SET = frozenset(PIXEL_KEYS)
_NUMBER_TYPES = frozenset({int, float})
_JSON_KEYS = ("data", "Inputs", "images", "top_k", "return_images", "GlobalParameters")
_IMAGE_TYPES = ("image/", "application/octet-stream")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_TYPE_NAMES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    type(None): "null",
    int: "a number",
    float: "a number",
}


@dataclasses.dataclass(frozen=True)
class ScoringLimits:
    """Limits that protect a scoring worker; each is configurable by environment variable.

    Attributes:
        max_body_bytes: largest request body (``ASL_MAX_BODY_BYTES``); larger answers 413.
        max_rows: most pixel rows in one request (``ASL_MAX_ROWS``); more answers 413.
        max_images: most encoded images in one request (``ASL_MAX_IMAGES``); more answers 413.
        max_image_pixels: largest decoded image, width x height (``ASL_MAX_IMAGE_PIXELS``).
    """

    max_body_bytes: int = 16 * 1024 * 1024
    max_rows: int = 1024
    max_images: int = 64
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check_param(field.name, getattr(self, field.name), Interval(int, 1, None))

    @staticmethod
    def env_name(field: str) -> str:
        """Environment variable that sets ``field`` (``max_rows`` -> ``ASL_MAX_ROWS``)."""
        return f"ASL_{field.upper()}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> ScoringLimits:
        """Limits from ``ASL_MAX_*`` environment variables (defaults for those not set)."""
        values: dict[str, int] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(cls.env_name(field.name))
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise ConfigurationError(
                    f"environment variable {cls.env_name(field.name)} must be an integer, got {raw!r}"
                ) from None
        try:
            return cls(**values)
        except InvalidParameterError as exc:
            raise ConfigurationError(f"scoring limits from the environment: {exc}") from exc

    def to_environ(self) -> dict[str, str]:
        """The environment variables that reproduce these limits in a server process."""
        return {self.env_name(f.name): str(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class ScoringRequest:
    """A validated scoring request.

    Attributes:
        images: float32 (N, 28, 28) pixel values in 0..255: the 28x28 inputs (for encoded
            images, their crops).
        top_k: how many (letter, probability) pairs to answer per image (None: the default).
        return_images: whether to echo the 28x28 model inputs (and the hands found) in the answer.
        observations: for encoded images, each one's
            :class:`~asl_recognition.photo.HandObservation` (photo-native models read it); None
            for pixel rows.
    """

    images: npt.NDArray[np.float32]
    top_k: int | None = None
    return_images: bool = False
    observations: tuple[HandObservation, ...] | None = None


def json_loads(data: bytes | str) -> Any:
    """Decode JSON with the fastest available parser; raise ``ValueError`` when invalid."""
    if _orjson is not None:
        return _orjson.loads(data)
    return _json.loads(data)


def parse_request(
    body: bytes,
    content_type: str | None,
    *,
    query: Mapping[str, str] | None = None,
    limits: ScoringLimits | None = None,
) -> ScoringRequest:
    """Parse and validate one scoring request body.

    Args:
        body: the raw request body.
        content_type: the ``Content-Type`` header (None when absent: the body is sniffed).
        query: query-string parameters (``top_k``, ``return_images``).
        limits: size limits (defaults: :class:`ScoringLimits`).

    Raises:
        RequestError: with ``status`` 400 (malformed), 413 (too large) or 415 (content type).
    """
    limits = limits or ScoringLimits()
    query = query or {}
    if len(body) > limits.max_body_bytes:
        raise RequestError(
            f"request body has {len(body):,} bytes, more than the limit of {limits.max_body_bytes:,}",
            status=413,
        )
    options: dict[str, Any] = {}
    for name in ("top_k", "return_images"):
        if name in query:
            options[name] = query[name]
    for name in query:
        if name not in ("top_k", "return_images", "demo"):
            raise RequestError(f"unknown query parameter {name!r}; accepted: top_k, return_images")
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if not media_type:
        media_type = "application/json" if body.lstrip()[:1] in (b"{", b"[") else "image/*"
    images: npt.NDArray[np.float32] | tuple[HandObservation, ...]
    if media_type in ("application/json", "text/json") or media_type.endswith("+json"):
        images = _parse_json(body, options, limits)
    elif media_type.startswith(_IMAGE_TYPES):
        images = _decode_images([body], ["body"], limits)
    elif media_type == "multipart/form-data":
        images = _parse_multipart(body, content_type or "", options, limits)
    else:
        raise RequestError(
            f"unsupported Content-Type {media_type!r}; send application/json, image/png, "
            "image/jpeg or multipart/form-data",
            status=415,
        )
    return _scoring_request(images, options)


def tensor_request(
    *,
    pixels: npt.NDArray[Any] | None = None,
    images: list[bytes] | None = None,
    field: str,
    top_k: Any = None,
    limits: ScoringLimits | None = None,
) -> ScoringRequest:
    """Validate a request given as a tensor (the OIP front end): pixel values or encoded images.

    Exactly one of ``pixels`` (a numeric array, (N, 28, 28) or (N, 784), values 0..255) and
    ``images`` (PNG/JPEG files' bytes) must be given. The checks, limits and messages are those
    of :func:`parse_request`; ``field`` names the tensor in them.

    >>> tensor_request(pixels=np.zeros((2, 784), np.uint8), field="pixels").images.shape
    (2, 28, 28)
    >>> tensor_request(pixels=np.full((1, 784), 300.0), field="pixels")
    Traceback (most recent call last):
    ...
    asl_recognition.errors.RequestError: pixels[0] pixel1: pixel values must be numbers in 0..255, got 300
    """
    limits = limits or ScoringLimits()
    if (pixels is None) == (images is None):
        raise RequestError("send exactly one input tensor: pixel values or encoded images")
    options: dict[str, Any] = {} if top_k is None else {"top_k": top_k}
    parsed: npt.NDArray[np.float32] | tuple[HandObservation, ...]
    if images is not None:
        if not images:
            raise RequestError(f"{field!r} is empty; send at least one PNG or JPEG file")
        if len(images) > limits.max_images:
            raise RequestError(
                f"{field!r} has {len(images):,} images, more than the limit of {limits.max_images:,}",
                status=413,
            )
        parsed = _decode_images(images, [f"{field}[{i}]" for i in range(len(images))], limits)
    else:
        assert pixels is not None
        if pixels.dtype.kind not in "iuf":
            raise RequestError(f"{field!r} must hold numbers, got {pixels.dtype} values")
        if pixels.ndim < 1 or len(pixels) == 0:
            raise RequestError(f"{field!r} is empty; send at least one image")
        if len(pixels) > limits.max_rows:
            raise RequestError(
                f"{field!r} has {len(pixels):,} rows, more than the limit of {limits.max_rows:,} per request",
                status=413,
            )
        values = pixels.astype(np.float64, copy=False)
        _check_range(values, field)
        try:
            parsed = as_image_batch(values, what=repr(field))
        except InvalidParameterError as exc:
            raise RequestError(str(exc)) from None
    return _scoring_request(parsed, options)


def _scoring_request(
    images: npt.NDArray[np.float32] | tuple[HandObservation, ...], options: Mapping[str, Any]
) -> ScoringRequest:
    observations = images if isinstance(images, tuple) else None
    pixels = images if not isinstance(images, tuple) else np.stack([o.image for o in images]).astype(np.float32)
    return ScoringRequest(
        images=pixels,
        top_k=_parse_top_k(options["top_k"]) if "top_k" in options else None,
        return_images=_parse_bool(options.get("return_images", False), "return_images"),
        observations=observations,
    )


# -- JSON -------------------------------------------------------------------------------------
def _parse_json(
    body: bytes, options: dict[str, Any], limits: ScoringLimits
) -> npt.NDArray[np.float32] | tuple[HandObservation, ...]:
    if not body.strip():
        raise RequestError('request body is empty; expected JSON such as {"data": [...]}')
    try:
        doc = json_loads(body)
    except (ValueError, RecursionError) as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
    # JSON booleans are the one kind of non-number that numpy turns into numbers (0/1) without
    # complaint; a body without any true/false literal cannot hold one, so the pixel values can
    # be type-checked by numpy in one vectorised pass (see _numeric_array).
    no_booleans = b"true" not in body and b"false" not in body
    if isinstance(doc, list):
        return _pixel_rows(doc, "data", limits, no_booleans=no_booleans)
    if not isinstance(doc, dict):
        raise RequestError(f"request body must be a JSON object or array, got {_type_name(doc)}")
    unknown = [k for k in doc if k not in _JSON_KEYS]
    if unknown:
        raise RequestError(
            f"unknown key(s) {', '.join(map(repr, unknown[:5]))} in the request; accepted keys: "
            + ", ".join(_JSON_KEYS)
        )
    for name in ("top_k", "return_images"):
        if name in doc:
            options[name] = doc[name]
    inputs = [k for k in ("data", "Inputs", "images") if k in doc]
    if len(inputs) != 1:
        raise RequestError(
            "the request must have exactly one of the keys 'data', 'Inputs' or 'images'"
            + (f", got {' and '.join(map(repr, inputs))}" if inputs else "")
        )
    if "GlobalParameters" in doc and not isinstance(doc["GlobalParameters"], dict):
        raise RequestError("'GlobalParameters' must be a JSON object")
    if "data" in doc:
        return _pixel_rows(doc["data"], "data", limits, no_booleans=no_booleans)
    if "Inputs" in doc:
        wrapped = doc["Inputs"]
        if not isinstance(wrapped, dict) or "data" not in wrapped:
            raise RequestError("'Inputs' must be a JSON object with a 'data' key: {\"Inputs\": {\"data\": [...]}}")
        extra = [k for k in wrapped if k != "data"]
        if extra:
            raise RequestError(f"unknown key(s) {', '.join(map(repr, extra[:5]))} in 'Inputs'; accepted: 'data'")
        return _pixel_rows(wrapped["data"], "Inputs.data", limits, no_booleans=no_booleans)
    return _base64_images(doc["images"], limits)


def _pixel_rows(
    rows: Any, field: str, limits: ScoringLimits, *, no_booleans: bool = False
) -> npt.NDArray[np.float32]:
    """Rows of pixel dicts or nested number lists -> validated float32 (N, 28, 28).

    ``no_booleans``: the caller guarantees that ``rows`` holds no JSON boolean (the body has no
    ``true``/``false`` literal), which lets numpy check the value types in one pass.
    """
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        raise RequestError(f"{field!r} must be a list of rows, got {_type_name(rows)}")
    if not rows:
        raise RequestError(f"{field!r} is empty; send at least one image")
    n = len(rows) if isinstance(rows[0], (dict, list)) else 1
    if n > limits.max_rows:
        raise RequestError(
            f"{field!r} has {n:,} rows, more than the limit of {limits.max_rows:,} per request",
            status=413,
        )
    if isinstance(rows[0], dict):
        table: list[list[Any]] = []
        for i, row in enumerate(rows):
            try:
                table.append(_pixel_dict_values(row, f"{field}[{i}]"))
            except RequestError:
                _check_row_types(table, field)  # a bad value in an earlier row is named first
                raise
        arr = _numeric_array(table) if no_booleans else None
        if arr is None:
            _check_row_types(table, field)
            arr = np.array(table, dtype=np.float64)
    else:
        arr = _numeric_array(rows) if no_booleans else None
        if arr is None:
            _check_numbers(rows, field, depth=0)
            try:
                arr = np.array(rows, dtype=np.float64)
            except (ValueError, OverflowError) as exc:  # ragged lists
                raise RequestError(
                    f"{field!r} must be a rectangular array of numbers (rows of 784 values or 28x28 images): {exc}"
                ) from None
    _check_range(arr, field)
    try:
        return as_image_batch(arr, what=repr(field))
    except InvalidParameterError as exc:
        raise RequestError(str(exc)) from None


def _numeric_array(rows: list[Any]) -> npt.NDArray[np.float64] | None:
    """``rows`` as a float64 array if numpy finds only numbers in a rectangular nest of lists.

    Returns None (the caller then runs the element-wise checks that name the culprit) for
    anything else: strings, null, objects, ragged or too deeply nested lists. Booleans must
    have been ruled out by the caller: numpy would read them as 0/1.
    """
    try:
        arr = np.array(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.dtype.kind not in "iuf" or arr.ndim > 3:
        return None
    return arr.astype(np.float64, copy=False)


# Key lists known to equal PIXEL_KEYS. orjson hands out the same str objects for a key every
# time it parses it, so comparing a row's keys against the last accepted key list is decided by
# identity (a few microseconds instead of 784 string comparisons); other parsers still compare
# by value. Replacing the list is atomic, and every list stored here equals PIXEL_KEYS.
_accepted_keys: list[list[str]] = [PIXEL_KEYS]


def _pixel_dict_values(row: Any, where: str) -> list[Any]:
    """Values of one ``{"pixel1": ..., "pixel784": ...}`` row, in pixel order (types unchecked)."""
    if not isinstance(row, dict):
        raise RequestError(
            f"{where} must be an object with keys pixel1..pixel784 like the first row, got {_type_name(row)}"
        )
    keys = list(row)
    if keys == _accepted_keys[0]:  # the seed client's exact layout: fast path
        _accepted_keys[0] = keys
        return list(row.values())
    key_set = set(keys)
    if key_set != _PIXEL_KEY_SET:
        missing = [k for k in PIXEL_KEYS if k not in key_set]
        unexpected = sorted(str(k) for k in key_set - _PIXEL_KEY_SET)
        parts = []
        if missing:
            more = ", ..." if len(missing) > 3 else ""
            parts.append(f"missing {len(missing)} key(s) ({', '.join(missing[:3])}{more})")
        if unexpected:
            parts.append(f"unexpected key(s) {', '.join(map(repr, unexpected[:3]))}")
        raise RequestError(f"{where} must have exactly the keys pixel1..pixel784: {'; '.join(parts)}")
    return [row[k] for k in PIXEL_KEYS]


def _check_row_types(table: list[list[Any]], field: str) -> None:
    """Name the first value of a pixel-dict row (in pixel order) that is not a number."""
    for i, values in enumerate(table):
        if not _NUMBER_TYPES.issuperset(map(type, values)):
            j = next(j for j, v in enumerate(values) if type(v) not in _NUMBER_TYPES)
            raise RequestError(f"{field}[{i}].{PIXEL_KEYS[j]} must be a number, got {_describe(values[j])}")


def _check_numbers(value: list[Any], where: str, *, depth: int) -> None:
    """Raise unless ``value`` is a nested list (at most 3 deep) whose leaves are numbers."""
    types = set(map(type, value))
    if _NUMBER_TYPES.issuperset(types):
        return
    if types == {list}:
        if depth >= 3:
            raise RequestError(f"{where} is nested too deeply; send rows of 784 values or 28x28 images")
        for j, item in enumerate(value):
            _check_numbers(item, f"{where}[{j}]", depth=depth + 1)
        return
    # a mix: numbers and something else, or no numbers and no lists
    if types & _NUMBER_TYPES:
        j = next(j for j, v in enumerate(value) if type(v) not in _NUMBER_TYPES)
        raise RequestError(f"{where}[{j}] must be a number, got {_describe(value[j])}")
    j = next(j for j, v in enumerate(value) if not isinstance(v, list))
    raise RequestError(f"{where}[{j}] must be a number or a list of numbers, got {_describe(value[j])}")


def _check_range(arr: npt.NDArray[np.float64], field: str) -> None:
    """Name the first row and pixel that is NaN, infinite or outside 0..255."""
    if arr.size == 0 or arr.ndim < 1:
        return
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(1, -1)
    bad = ~((flat >= 0) & (flat <= 255))  # NaN compares False: caught too
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        where = f"{field}[{i}]" if arr.ndim > 1 else field
        col = f"pixel{j + 1}" if flat.shape[1] == NUM_PIXELS else f"value {j}"
        raise RequestError(f"{where} {col}: pixel values must be numbers in 0..255, got {flat[i, j]:g}")


# -- images -----------------------------------------------------------------------------------
def _base64_images(items: Any, limits: ScoringLimits) -> tuple[HandObservation, ...]:
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list) or not items:
        raise RequestError("'images' must be a non-empty list of base64-encoded PNG or JPEG files")
    if len(items) > limits.max_images:
        raise RequestError(
            f"'images' has {len(items):,} images, more than the limit of {limits.max_images:,}",
            status=413,
        )
    blobs: list[bytes] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise RequestError(f"images[{i}] must be a base64 string, got {_describe(item)}")
        text = item.partition(",")[2] if item.startswith("data:") else item
        try:
            blobs.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise RequestError(f"images[{i}] is not valid base64: {exc}") from None
    return _decode_images(blobs, [f"images[{i}]" for i in range(len(blobs))], limits)


def _decode_images(blobs: list[bytes], names: list[str], limits: ScoringLimits) -> tuple[HandObservation, ...]:
    out: list[HandObservation] = []
    for blob, name in zip(blobs, names, strict=True):
        try:
            out.append(observe_image(blob, max_pixels=limits.max_image_pixels, what=name))
        except ImageTooLargeError as exc:
            raise RequestError(str(exc), status=413) from None
        except InvalidParameterError as exc:
            raise RequestError(str(exc)) from None
    return tuple(out)


def _parse_multipart(
    body: bytes, content_type: str, options: dict[str, Any], limits: ScoringLimits
) -> tuple[HandObservation, ...]:
    if "boundary=" not in content_type.lower():
        raise RequestError("multipart/form-data request without a boundary parameter in Content-Type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise RequestError("multipart/form-data body could not be parsed")
    blobs: list[bytes] = []
    names: list[str] = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if filename is not None or part.get_content_maintype() == "image":
            blobs.append(data)
            names.append(f"file {filename!r}" if filename else f"form field {name!r}")
        elif name in ("top_k", "return_images"):
            options[str(name)] = data.decode("utf-8", "replace").strip()
        else:
            raise RequestError(
                f"unexpected form field {name!r}; send image files plus the optional fields top_k and return_images"
            )
    if not blobs:
        raise RequestError("multipart/form-data request contains no image file")
    if len(blobs) > limits.max_images:
        raise RequestError(
            f"the form has {len(blobs):,} images, more than the limit of {limits.max_images:,}",
            status=413,
        )
    return _decode_images(blobs, names, limits)


# -- options ----------------------------------------------------------------------------------
def _parse_top_k(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise RequestError(f"'top_k' must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(f"'top_k' must be a positive integer, got {_describe(value)}")
    return int(value)


def _parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise RequestError(f"{name!r} must be true or false, got {_describe(value)}")


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{_type_name(value)} {text if len(text) <= 40 else text[:37] + '...'}"
