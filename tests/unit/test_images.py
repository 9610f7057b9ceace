"""preprocess_image: every input kind, each documented step, and the rejections."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asl_recognition.errors import AslRecognitionError, InvalidParameterError
from asl_recognition.images import ImageTooLargeError, preprocess_image


def _encode(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but carries (almost) no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def gradient() -> np.ndarray:
    """A 28x28 image with distinct values, upscaled by the tests."""
    return (np.arange(784).reshape(28, 28) % 251).astype(np.uint8)


def test_grey_png_round_trips_exactly_after_area_resize(gradient: np.ndarray) -> None:
    big = Image.fromarray(gradient).resize((112, 112), Image.Resampling.NEAREST)
    out = preprocess_image(_encode(big))
    assert out.dtype == np.uint8
    assert out.shape == (28, 28)
    np.testing.assert_array_equal(out, gradient)


def test_area_resize_averages_blocks() -> None:
    checker = np.indices((56, 56)).sum(axis=0) % 2 * 200  # 1-pixel checkerboard 0/200
    out = preprocess_image(checker.astype(np.uint8))
    assert np.all(out == 100)


def test_centre_square_crop_drops_the_sides() -> None:
    wide = np.zeros((28, 84), dtype=np.uint8)
    wide[:, :28] = 255  # left third, cropped away
    wide[:, 28:56] = 77
    out = preprocess_image(wide)
    assert np.all(out == 77)


def test_rgb_becomes_luminance() -> None:
    red = np.zeros((28, 28, 3), dtype=np.uint8)
    red[..., 0] = 255
    assert np.all(preprocess_image(_encode(Image.fromarray(red))) == 76)  # 0.299 * 255


def test_transparency_is_composited_on_white() -> None:
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[:, :14, 3] = 255  # left half opaque black, right half fully transparent
    out = preprocess_image(_encode(Image.fromarray(rgba, mode="RGBA")))
    assert np.all(out[:, :14] == 0)
    assert np.all(out[:, 14:] == 255)


def test_sixteen_bit_png_is_scaled(gradient: np.ndarray) -> None:
    im16 = Image.fromarray(gradient.astype(np.uint16) * 257)
    assert im16.mode.startswith("I;16")
    np.testing.assert_array_equal(preprocess_image(_encode(im16)), gradient)


def test_palette_and_bilevel_images() -> None:
    arr = np.zeros((28, 28), dtype=np.uint8)
    arr[:, 14:] = 255
    for mode in ("P", "1", "LA", "CMYK"):
        im = Image.fromarray(arr).convert(mode)
        fmt = "JPEG" if mode == "CMYK" else "PNG"
        out = preprocess_image(_encode(im, fmt))
        assert out[:, :10].mean() < 30, mode
        assert out[:, 18:].mean() > 225, mode


def test_jpeg_with_exif_rotation_is_made_upright() -> None:
    arr = np.zeros((40, 40), dtype=np.uint8)
    arr[:20, :] = 255  # top half white as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = _encode(Image.fromarray(arr).convert("RGB"), "JPEG", exif=exif.tobytes(), quality=95)
    out = preprocess_image(data)
    # after a 90-degree clockwise rotation the white half is on the right
    assert out[:, 17:].mean() > 200
    assert out[:, :11].mean() < 50


def test_large_jpeg_uses_draft_decoding_and_stays_correct() -> None:
    arr = np.zeros((2000, 3000), dtype=np.uint8)
    arr[:, 1500:] = 255
    out = preprocess_image(_encode(Image.fromarray(arr), "JPEG", quality=90))
    assert out[:, :12].mean() < 10
    assert out[:, 16:].mean() > 245


def test_path_input(tmp_path: Path, gradient: np.ndarray) -> None:
    f = tmp_path / "g.png"
    f.write_bytes(_encode(Image.fromarray(gradient)))
    np.testing.assert_array_equal(preprocess_image(f), gradient)
    np.testing.assert_array_equal(preprocess_image(str(f)), gradient)


def test_array_inputs(gradient: np.ndarray) -> None:
    np.testing.assert_array_equal(preprocess_image(gradient), gradient)
    np.testing.assert_array_equal(preprocess_image(gradient[..., None]), gradient)
    np.testing.assert_array_equal(preprocess_image(gradient.astype(np.float64)), gradient)
    rgb = np.repeat(gradient[..., None], 3, axis=2)
    np.testing.assert_array_equal(preprocess_image(rgb), gradient)


def test_pixel_limit_checked_before_decoding() -> None:
    bomb = _png_header_only(60_000, 60_000)  # 3.6 gigapixels claimed in ~100 bytes
    with pytest.raises(ImageTooLargeError, match="too large"):
        preprocess_image(bomb)
    with pytest.raises(ImageTooLargeError, match="8000x8000"):  # below Pillow's own limit
        preprocess_image(_png_header_only(8000, 8000), max_pixels=1_000_000)
    with pytest.raises(ImageTooLargeError, match="limit of 100"):
        preprocess_image(np.zeros((20, 20)), max_pixels=100)
    with pytest.raises(ImageTooLargeError):
        preprocess_image(_encode(Image.new("L", (200, 200))), max_pixels=10_000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not an image at all", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "not a readable image"),
        (np.zeros((28, 28)) - 1, r"0\.\.255"),
        (np.full((28, 28), np.nan), "NaN"),
        (np.zeros((2, 28, 28)), "shape"),
        (np.array([["a"]]), "numbers"),
    ],
)
def test_bad_inputs_raise_clear_errors(data: object, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        preprocess_image(data)  # type: ignore[arg-type]


def test_truncated_image_and_missing_file(tmp_path: Path) -> None:
    data = _encode(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    )
    with pytest.raises(InvalidParameterError, match="decoded"):
        preprocess_image(data[: len(data) // 2])
    with pytest.raises(InvalidParameterError, match="cannot read"):
        preprocess_image(tmp_path / "missing.png")
    with pytest.raises(AslRecognitionError, match="max_pixels"):
        preprocess_image(b"x", max_pixels=0)
