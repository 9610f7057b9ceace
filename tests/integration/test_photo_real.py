"""The photo pipeline on the real development photos (one signer, 23 letters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from asl_recognition.images import preprocess_image
from asl_recognition.photo import find_hand, preprocess_photo

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def photos(photos_dir: Path) -> list[tuple[Path, np.ndarray]]:
    files = sorted(photos_dir.glob("*/*.jpg"))
    assert len(files) >= 100
    out = []
    for f in files:
        with Image.open(f) as im:
            out.append((f, np.asarray(im.convert("RGB"))))
    return out


def test_every_photo_goes_through_the_photo_pipeline(photos: list[tuple[Path, np.ndarray]]) -> None:
    for f, rgb in photos[::4]:
        out = preprocess_image(f)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        np.testing.assert_array_equal(out, preprocess_photo(rgb).image, err_msg=str(f))


def test_a_plausible_hand_is_found_in_almost_every_photo(photos: list[tuple[Path, np.ndarray]]) -> None:
    plausible = 0
    for _, rgb in photos:
        box = find_hand(rgb)
        if box is None:
            continue
        side = min(rgb.shape[:2])
        centre_r, centre_c = (box.top + box.bottom) / 2, (box.left + box.right) / 2
        inside = 0 <= centre_r < rgb.shape[0] and 0 <= centre_c < rgb.shape[1]
        plausible += inside and 0.15 * side <= box.side <= 1.2 * side
    assert plausible >= 0.9 * len(photos)


def test_mirrored_photos_give_mirrored_boxes(photos: list[tuple[Path, np.ndarray]]) -> None:
    agree = 0
    for _, rgb in photos[::3]:
        a, b = find_hand(rgb), find_hand(np.ascontiguousarray(rgb[:, ::-1]))
        if a is None or b is None:
            agree += a is None and b is None
            continue
        tol = 0.1 * a.side  # resampling to the working size is not exactly mirror-symmetric
        agree += abs((rgb.shape[1] - a.right) - b.left) <= tol and abs(a.top - b.top) <= tol
    assert agree >= 0.85 * len(photos[::3])


def test_hand_crops_look_more_like_sign_mnist_than_centre_crops(
    photos: list[tuple[Path, np.ndarray]], real_test: Any
) -> None:
    """Correlation with the mean Sign MNIST image (a bright hand filling the frame) rises."""
    mean = real_test.images.reshape(len(real_test.images), -1).astype(np.float64).mean(axis=0)

    def similarity(images: list[np.ndarray]) -> float:
        return float(np.mean([np.corrcoef(i.ravel().astype(np.float64), mean)[0, 1] for i in images]))

    before = [preprocess_image(np.asarray(Image.fromarray(rgb).convert("L"))) for _, rgb in photos]
    after = [preprocess_photo(rgb).image for _, rgb in photos]
    assert similarity(after) > similarity(before) + 0.05
