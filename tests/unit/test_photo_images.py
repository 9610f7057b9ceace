"""preprocess_image routes colour photos through the photo pipeline and keeps crops unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asl_recognition.images import preprocess_image
from asl_recognition.photo import preprocess_photo
from asl_recognition.photo._synthetic import synthetic_hand_photo


def _encode(arr: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _skin_localiser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drawn hands here are for the skin localiser; the learned detector (which may read a
    drawn blob as a hand, with low presence) has its own tests."""
    monkeypatch.setenv("ASL_HAND_MODELS", "off")


@pytest.fixture
def photo() -> np.ndarray:
    # hand in the upper left, far from the centre a plain centre crop would take
    return synthetic_hand_photo(240, 320, palm=(100, 80), radius=22, arm_to="bottom")[0]


def test_colour_photo_goes_through_the_photo_pipeline(photo: np.ndarray, tmp_path: Path) -> None:
    expected = preprocess_photo(photo).image
    np.testing.assert_array_equal(preprocess_image(photo), expected)
    np.testing.assert_array_equal(preprocess_image(_encode(photo)), expected)
    f = tmp_path / "hand.png"
    f.write_bytes(_encode(photo))
    np.testing.assert_array_equal(preprocess_image(f), expected)


def test_jpeg_photo_keeps_its_colour_through_draft_decoding(photo: np.ndarray) -> None:
    big = np.repeat(np.repeat(photo, 5, axis=0), 5, axis=1)  # 1600x1200: decoded at reduced scale
    out = preprocess_image(_encode(big, "JPEG", quality=92))
    reference = preprocess_photo(photo).image
    assert np.abs(out.astype(int) - reference.astype(int)).mean() < 12


def test_photo_output_is_centred_on_the_hand(photo: np.ndarray) -> None:
    out = preprocess_image(photo).astype(float)
    grey_path = preprocess_image(np.asarray(Image.fromarray(photo).convert("L")))  # the old centre crop
    # the hand fills the photo pipeline's output; the centre crop shows mostly wall
    wall = float(np.median(grey_path))
    assert (np.abs(out - np.median(out)) > 30).mean() > (np.abs(grey_path - wall) > 30).mean()
    assert out[4:24, 8:20].std() > 20


def test_sign_mnist_sized_and_grey_inputs_keep_the_basic_path() -> None:
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    rgb_crop = np.stack([crop, crop // 2, crop // 3], axis=-1)  # colour, but already 28x28
    expected = np.asarray(Image.fromarray(rgb_crop).convert("L"))
    np.testing.assert_array_equal(preprocess_image(rgb_crop), expected)
    grey_big = np.kron(crop, np.ones((4, 4), np.uint8))  # greyscale 112x112: area resize only
    np.testing.assert_array_equal(preprocess_image(grey_big), crop)
    np.testing.assert_array_equal(preprocess_image(np.stack([grey_big] * 3, axis=-1)), crop)


def test_colour_image_without_a_hand_falls_back_to_the_centre(photo: np.ndarray) -> None:
    blue = np.zeros((100, 160, 3), np.uint8)
    blue[..., 2] = 200
    blue[:, 30:130, 0] = np.linspace(0, 120, 100).astype(np.uint8)  # colour, no skin
    result = preprocess_photo(blue)
    assert result.hand is None
    np.testing.assert_array_equal(preprocess_image(blue), result.image)
