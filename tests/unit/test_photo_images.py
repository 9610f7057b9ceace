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
from asl_recognition.photo.normalize import cut_square


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


def test_colour_check_matches_the_mean_chroma_rule() -> None:
    """``is_colour_photo`` sums |R-G| + |G-B| exactly in integers; it must agree with the mean
    chroma > MIN_CHROMA rule on any image, also exactly at the threshold."""
    from asl_recognition.photo.pipeline import MIN_CHROMA, is_colour_photo

    rng = np.random.default_rng(4)
    for scale in (0, 1, 2, 3, 40, 255):
        grey = rng.integers(0, 256, (37, 53, 1))
        rgb = np.clip(grey + rng.integers(-scale, scale + 1, (37, 53, 3)), 0, 255).astype(np.uint8)
        x = rgb.astype(np.int16)
        mean = (np.abs(x[..., 0] - x[..., 1]) + np.abs(x[..., 1] - x[..., 2])).mean()
        assert is_colour_photo(rgb) == bool(mean > MIN_CHROMA), scale
    at = np.zeros((10, 10, 3), np.uint8)
    at[..., 1] = 1  # |R-G| + |G-B| = 2 everywhere: the mean is exactly MIN_CHROMA
    assert not is_colour_photo(at)
    at[0, 0, 0] = 3  # |R-G| 2 instead of 1: one more unit of chroma in the whole image, above it
    assert is_colour_photo(at)


@pytest.mark.parametrize(  # box inside the photo; past its left edge; wider than the photo
    ("height", "width", "palm", "arm_to"),
    [(240, 320, (100, 80), "bottom"), (240, 320, (200, 40), "top"), (70, 60, (35, 30), "bottom")],
)
def test_the_crop_is_cut_from_the_luma_of_the_whole_photo(
    height: int, width: int, palm: tuple[int, int], arm_to: str
) -> None:
    """The 28x28 crop takes the luma of the hand square only; it must be the crop of the whole
    photo's luma, also for boxes past the photo's edges (shifted) or larger than it (mirrored)."""
    from asl_recognition.photo.localize import find_hand, hand_mask_in_box
    from asl_recognition.photo.normalize import crop_to_28, match_contrast
    from asl_recognition.photo.pipeline import to_luma

    rgb = synthetic_hand_photo(height, width, palm=palm, radius=min(22, height // 4), arm_to=arm_to)[0]
    box = find_hand(rgb, detector="skin")
    assert box is not None
    whole = crop_to_28(to_luma(rgb), left=box.left, top=box.top, side=box.side)
    expected = match_contrast(whole, hand_mask_in_box(rgb, box))
    np.testing.assert_array_equal(preprocess_photo(rgb, detector="skin").image, expected)
    for left, top, side in ((-15, -10, 40), (width - 20, height - 20, 50), (-5, -5, max(height, width) + 30)):
        np.testing.assert_array_equal(
            crop_to_28(to_luma(cut_square(rgb, left=left, top=top, side=side)), left=0, top=0, side=side),
            crop_to_28(to_luma(rgb), left=left, top=top, side=side),
        )
