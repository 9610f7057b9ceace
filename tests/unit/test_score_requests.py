"""The request parser: every accepted format, every bad-input class, and a fuzz test.

Bad-input classes covered (each must give RequestError with a 4xx status, never another
exception): invalid JSON / UTF-8, wrong top-level type, unknown or conflicting keys, missing
'data', empty data, ragged rows, wrong shapes, non-numbers (strings, booleans, null, objects),
NaN/Infinity, out-of-range pixels, missing/extra pixel keys, too many rows or images, oversized
bodies, bad base64, undecodable/truncated images, decompression bombs, wrong Content-Type,
multipart without boundary or image, bad option values (top_k, return_images), unknown query
parameters.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from asl_recognition.deploy._requests import (
    PIXEL_KEYS,
    ScoringLimits,
    ScoringRequest,
    parse_request,
)
from asl_recognition.errors import ConfigurationError, InvalidParameterError, RequestError

JSON = "application/json"
RNG = np.random.default_rng(7)
IMAGES = RNG.integers(0, 256, size=(3, 28, 28))


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _parse(doc: object, **kw: object) -> ScoringRequest:
    return parse_request(json.dumps(doc).encode(), JSON, **kw)  # type: ignore[arg-type]


def _seed_body(images: np.ndarray) -> bytes:
    """Exactly what the seed project's client sent: to_dict(orient="index") rows in a tuple."""
    frame = pd.DataFrame(images.reshape(len(images), -1), columns=PIXEL_KEYS)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    testdict = frame.to_dict(orient="index")
    input_list = tuple(testdict[i] for i in range(1, len(frame) + 1))
    return json.dumps({"data": input_list}).encode()


# -- accepted formats ----------------------------------------------------------------------
def test_seed_client_format() -> None:
    req = parse_request(_seed_body(IMAGES), JSON)
    np.testing.assert_array_equal(req.images, IMAGES)
    assert req.images.dtype == np.float32
    assert req.top_k is None
    assert req.return_images is False


def test_seed_format_with_float_values_and_shuffled_keys() -> None:
    row = {k: float(v) + 0.5 for k, v in zip(PIXEL_KEYS, IMAGES[0].ravel() * 0.99, strict=True)}
    shuffled = dict(reversed(list(row.items())))
    req = _parse({"data": [shuffled]})
    np.testing.assert_allclose(req.images[0].ravel(), list(row.values()), rtol=1e-6)


@pytest.mark.parametrize(
    "doc",
    [
        {"Inputs": {"data": IMAGES.reshape(3, -1).tolist()}},
        {"data": IMAGES.reshape(3, -1).tolist()},
        {"data": IMAGES.tolist()},
        IMAGES.tolist(),
        IMAGES.reshape(3, -1).tolist(),
        {"data": IMAGES.reshape(3, -1).tolist(), "GlobalParameters": {"method": "predict"}},
    ],
)
def test_pixel_array_formats(doc: object) -> None:
    np.testing.assert_array_equal(_parse(doc).images, IMAGES)


def test_single_image_forms() -> None:
    assert _parse({"data": IMAGES[0].ravel().tolist()}).images.shape == (1, 28, 28)
    assert _parse(IMAGES[0].tolist()).images.shape == (1, 28, 28)
    row = dict(zip(PIXEL_KEYS, IMAGES[0].ravel().tolist(), strict=True))
    assert _parse({"data": row}).images.shape == (1, 28, 28)


@pytest.mark.parametrize("seed_rows", [True, False])
def test_vectorised_and_element_wise_checks_agree(seed_rows: bool) -> None:
    """Without a true/false literal in the body numpy checks the types; with one, each value is."""
    doc: dict[str, object] = json.loads(_seed_body(IMAGES)) if seed_rows else {"data": IMAGES.tolist()}
    fast = _parse(doc)
    checked = _parse({**doc, "return_images": False})  # the body now holds a 'false' literal
    np.testing.assert_array_equal(fast.images, IMAGES)
    np.testing.assert_array_equal(checked.images, IMAGES)


@pytest.mark.parametrize("bad", [True, False, "7", None, [1], {"a": 1}])
@pytest.mark.parametrize("with_boolean_option", [True, False])
def test_non_number_in_seed_rows_is_named(bad: object, with_boolean_option: bool) -> None:
    rows = [dict(zip(PIXEL_KEYS, img.ravel().tolist(), strict=True)) for img in IMAGES]
    rows[1]["pixel300"] = bad
    rows[2]["pixel1"] = "late"  # a later row's problem is not the one reported
    doc = {"data": rows, "return_images": False} if with_boolean_option else {"data": rows}
    with pytest.raises(RequestError, match=r"data\[1\]\.pixel300 must be a number") as info:
        _parse(doc)
    assert info.value.status == 400


def test_bad_value_in_an_earlier_row_is_named_before_bad_keys_in_a_later_one() -> None:
    rows = [dict(zip(PIXEL_KEYS, img.ravel().tolist(), strict=True)) for img in IMAGES]
    rows[0]["pixel9"] = None
    del rows[1]["pixel2"]
    with pytest.raises(RequestError, match=r"data\[0\]\.pixel9 must be a number"):
        _parse({"data": rows})
    rows[0]["pixel9"] = 1
    with pytest.raises(RequestError, match=r"data\[1\] must have exactly the keys.*missing 1 key\(s\) \(pixel2\)"):
        _parse({"data": rows})


def test_base64_images_and_data_urls() -> None:
    b64 = base64.b64encode(_png(IMAGES[0])).decode()
    req = _parse(
        {"images": [b64, f"data:image/png;base64,{b64}"], "top_k": 5, "return_images": True}
    )
    assert req.images.shape == (2, 28, 28)
    np.testing.assert_array_equal(req.images[0], IMAGES[0])
    assert req.top_k == 5
    assert req.return_images is True


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", None])
def test_raw_image_upload(content_type: str | None) -> None:
    req = parse_request(
        _png(IMAGES[1]), content_type, query={"top_k": "2", "return_images": "true"}
    )
    np.testing.assert_array_equal(req.images[0], IMAGES[1])
    assert req.top_k == 2
    assert req.return_images


def test_multipart_upload_with_fields() -> None:
    boundary = "XyZ123"
    parts = []
    for i in (0, 2):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="h{i}.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
            + _png(IMAGES[i])
            + b"\r\n"
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="top_k"\r\n\r\n4\r\n'.encode()
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    req = parse_request(body, f"multipart/form-data; boundary={boundary}")
    np.testing.assert_array_equal(req.images, IMAGES[[0, 2]])
    assert req.top_k == 4


def test_json_content_type_with_charset() -> None:
    assert parse_request(
        b"[" + json.dumps(IMAGES[0].tolist()).encode() + b"]", "application/json; charset=utf-8"
    ).images.shape == (1, 28, 28)


# -- bad inputs ----------------------------------------------------------------------------
ROW = IMAGES[0].ravel().tolist()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "empty"),
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe{}", 400, "not valid JSON"),
        (b'"just a string"', 400, "JSON object or array"),
        (b"{}", 400, "exactly one of"),
        (b'{"data": [], "images": []}', 400, "exactly one of"),
        (b'{"dta": []}', 400, "unknown key"),
        (b'{"data": []}', 400, "empty"),
        (b'{"data": "abc"}', 400, "list of rows"),
        (b'{"Inputs": [1]}', 400, "'Inputs' must be"),
        (b'{"Inputs": {"data": [], "x": 1}}', 400, "unknown key"),
        (json.dumps({"data": [ROW, ROW[:-1]]}).encode(), 400, "rectangular"),
        (json.dumps({"data": [ROW[:100]]}).encode(), 400, r"shape \(N, 28, 28\)"),
        (
            json.dumps({"data": [[*ROW[:-1], "7"]]}).encode(),
            400,
            r"data\[0\]\[783\] must be a number, got a string",
        ),
        (json.dumps({"data": [[*ROW[:-1], True]]}).encode(), 400, "got a boolean"),
        (json.dumps({"data": [[*ROW[:-1], None]]}).encode(), 400, "got null"),
        (json.dumps({"data": [[*ROW[:-1], {}]]}).encode(), 400, "got an object"),
        (json.dumps({"data": [[*ROW[:-1], 256]]}).encode(), 400, r"data\[0\] pixel784: .* got 256"),
        (json.dumps({"data": [ROW, [-1, *ROW[1:]]]}).encode(), 400, r"data\[1\] pixel1: .* got -1"),
        (b'{"data": [[' + b"NaN," * 783 + b"0]]}", 400, "JSON|NaN|0..255"),
        (b'{"data": [[' + b"1e999," * 783 + b"0]]}", 400, "JSON|0..255"),
        (b'{"data": [[' + b"1" * 400 + b"]]}", 400, "JSON|number|0..255|shape"),
        (
            json.dumps(
                {"data": [{**dict(zip(PIXEL_KEYS, ROW, strict=True)), "label": 3}]}
            ).encode(),
            400,
            "unexpected key.*'label'",
        ),
        (
            json.dumps({"data": [dict(zip(PIXEL_KEYS[:-2], ROW, strict=False))]}).encode(),
            400,
            "missing 2 key.*pixel783",
        ),
        (
            json.dumps({"data": [dict(zip(PIXEL_KEYS, ROW, strict=True)), ROW]}).encode(),
            400,
            r"data\[1\] must be an object",
        ),
        (
            json.dumps(
                {"data": [{**dict(zip(PIXEL_KEYS, ROW, strict=True)), "pixel5": "x"}]}
            ).encode(),
            400,
            r"data\[0\]\.pixel5 must be a number",
        ),
        (json.dumps({"data": [[[[[ROW]]]]]}).encode(), 400, "nested too deeply|shape"),
        (b'{"images": "%%%"}', 400, "not valid base64"),
        (b'{"images": [12]}', 400, "base64 string"),
        (b'{"images": []}', 400, "non-empty list"),
        (
            json.dumps({"images": [base64.b64encode(b"hello").decode()]}).encode(),
            400,
            r"images\[0\] is not a readable image",
        ),
        (json.dumps({"data": [ROW], "top_k": 0}).encode(), 400, "top_k"),
        (json.dumps({"data": [ROW], "top_k": "three"}).encode(), 400, "top_k"),
        (json.dumps({"data": [ROW], "top_k": True}).encode(), 400, "top_k"),
        (json.dumps({"data": [ROW], "return_images": "maybe"}).encode(), 400, "return_images"),
        (json.dumps({"data": [ROW], "GlobalParameters": 3}).encode(), 400, "GlobalParameters"),
    ],
)
def test_bad_json_bodies(body: bytes, status: int, message: str) -> None:
    with pytest.raises(RequestError, match=message) as info:
        parse_request(body, JSON)
    assert info.value.status == status


def test_limits_answer_413() -> None:
    limits = ScoringLimits(
        max_body_bytes=10_000_000, max_rows=2, max_images=1, max_image_pixels=100
    )
    cases = [
        (json.dumps({"data": [ROW] * 3}).encode(), JSON, "3 rows, more than the limit of 2"),
        (json.dumps({"images": ["AAAA", "AAAA"]}).encode(), JSON, "2 images"),
        (_png(IMAGES[0]), "image/png", "784 pixels, more than the limit of 100"),
        (b"x" * 10_000_001, JSON, "more than the limit"),
    ]
    for body, ctype, message in cases:
        with pytest.raises(RequestError, match=message) as info:
            parse_request(body, ctype, limits=limits)
        assert info.value.status == 413


@pytest.mark.parametrize(
    ("body", "ctype", "status", "message"),
    [
        (b"<xml/>", "application/xml", 415, "unsupported Content-Type"),
        (b"data", "text/plain", 415, "unsupported Content-Type"),
        (b"\x00\x01garbage", "image/jpeg", 400, "not a readable image"),
        (b"--x--\r\n", "multipart/form-data", 400, "boundary"),
        (
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
            400,
            "unexpected form field",
        ),
        (b"--x--\r\n", "multipart/form-data; boundary=x", 400, "no image|could not be parsed"),
    ],
)
def test_bad_content(body: bytes, ctype: str, status: int, message: str) -> None:
    with pytest.raises(RequestError, match=message) as info:
        parse_request(body, ctype)
    assert info.value.status == status


def test_unknown_query_parameter() -> None:
    with pytest.raises(RequestError, match="unknown query parameter 'topk'"):
        parse_request(_png(IMAGES[0]), "image/png", query={"topk": "3"})


def test_limits_from_environment() -> None:
    env = {"ASL_MAX_ROWS": "5", "ASL_MAX_IMAGE_PIXELS": "1000"}
    limits = ScoringLimits.from_environ(env)
    assert (limits.max_rows, limits.max_image_pixels) == (5, 1000)
    assert ScoringLimits.from_environ(limits.to_environ()) == limits
    with pytest.raises(ConfigurationError, match="ASL_MAX_ROWS must be an integer"):
        ScoringLimits.from_environ({"ASL_MAX_ROWS": "many"})
    with pytest.raises(ConfigurationError, match="'max_rows' must be an integer >= 1, got 0"):
        ScoringLimits.from_environ({"ASL_MAX_ROWS": "0"})
    with pytest.raises(InvalidParameterError):
        ScoringLimits(max_rows=-1)


# -- fuzzing -------------------------------------------------------------------------------
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-300, 300)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.sampled_from(["data", "Inputs", "images", "top_k", "return_images", "pixel1", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)
_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(
    body=st.binary(max_size=300),
    ctype=st.sampled_from(
        [JSON, "image/png", "multipart/form-data; boundary=b", None, "text/plain"]
    ),
)
def test_fuzz_arbitrary_bytes_only_raise_request_errors(body: bytes, ctype: str | None) -> None:
    try:
        req = parse_request(body, ctype)
    except RequestError as exc:
        assert 400 <= exc.status < 500  # noqa: PT017
        assert str(exc)  # noqa: PT017
    else:
        assert req.images.shape[1:] == (28, 28)


@_FUZZ
@given(doc=_json_values)
def test_fuzz_arbitrary_json_only_raises_request_errors(doc: object) -> None:
    body = json.dumps(doc).encode()
    try:
        req = parse_request(body, JSON)
    except RequestError as exc:
        assert 400 <= exc.status < 500  # noqa: PT017
    else:
        assert req.images.shape[1:] == (28, 28)
        assert np.isfinite(req.images).all()
        assert req.images.min() >= 0
        assert req.images.max() <= 255


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pixels=st.lists(st.integers(0, 255) | st.floats(0, 255), min_size=784, max_size=784),
    corrupt=st.integers(0, 783),
    bad=st.sampled_from(["7", None, True, -0.5, 255.5, [1], {"a": 1}]),
)
def test_fuzz_one_bad_pixel_is_named(pixels: list[float], corrupt: int, bad: object) -> None:
    ok = parse_request(json.dumps({"data": [pixels]}).encode(), JSON)
    np.testing.assert_allclose(ok.images.ravel(), pixels, rtol=1e-6, atol=1e-3)
    broken: list[object] = list(pixels)
    broken[corrupt] = bad
    with pytest.raises(RequestError, match=rf"(\[{corrupt}\]|pixel{corrupt + 1}\b)") as info:
        parse_request(json.dumps({"data": [broken]}).encode(), JSON)
    assert info.value.status == 400
