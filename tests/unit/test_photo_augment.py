"""The "real conditions" training augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.errors import InvalidParameterError
from asl_recognition.photo import PhotoAugmentation, augment_photo_like


@pytest.fixture
def hands() -> tuple[np.ndarray, np.ndarray]:
    """Bright 'hands' (a blob and a bar) on a mid-grey background, asymmetric left/right."""
    imgs = np.full((32, 28, 28), 90, np.uint8)
    imgs[:, 8:24, 6:16] = 200
    imgs[:, 2:10, 16:19] = 230
    return imgs, np.resize(np.asarray(VALID_LABELS), 32).astype(np.int64)


def test_shape_dtype_and_input_untouched(hands: tuple[np.ndarray, np.ndarray]) -> None:
    imgs, labels = hands
    before = imgs.copy()
    out = augment_photo_like(imgs, labels, np.random.default_rng(0))
    assert out.shape == imgs.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(imgs, before)
    assert not np.array_equal(out, imgs)


def test_seeded_and_varied(hands: tuple[np.ndarray, np.ndarray]) -> None:
    imgs, labels = hands
    a = augment_photo_like(imgs, labels, np.random.default_rng(5))
    b = augment_photo_like(imgs, labels, np.random.default_rng(5))
    c = augment_photo_like(imgs, labels, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_light_only_stays_close_to_the_original(hands: tuple[np.ndarray, np.ndarray]) -> None:
    imgs, labels = hands
    p = PhotoAugmentation(photo_fraction=0.0, mirror=0.0)
    out = augment_photo_like(imgs, labels, np.random.default_rng(0), p)
    def centroid(img: np.ndarray) -> np.ndarray:
        return np.argwhere(img > 150).mean(axis=0)

    moved = [np.hypot(*(centroid(o) - centroid(i))) for o, i in zip(out, imgs, strict=True)]
    assert max(moved) < 4.5  # a small affine jitter: 2 px shift, 8 degrees, 8 % zoom
    assert np.abs(out.astype(int).mean() - imgs.astype(int).mean()) < 5  # no lighting change


def test_mirror_probability_one_flips_everything(hands: tuple[np.ndarray, np.ndarray]) -> None:
    imgs, labels = hands
    p = PhotoAugmentation(photo_fraction=0.0, mirror=1.0, light_rotation=0, light_scale=0, light_shift=0)
    out = augment_photo_like(imgs, labels, np.random.default_rng(0), p)
    np.testing.assert_array_equal(out, imgs[:, :, ::-1])


def test_zoom_out_fills_with_clutter_not_edge_pixels(hands: tuple[np.ndarray, np.ndarray]) -> None:
    imgs, labels = hands
    flat = np.full_like(imgs, 120)
    p = PhotoAugmentation(photo_fraction=1.0, mirror=0.0, scale=(0.5, 0.5), rotation=0, shift=0,
                          gamma=(1, 1), contrast=(1, 1), brightness=0, gradient=0, blur=0, noise=0,
                          normalize=0)
    out = augment_photo_like(flat, labels, np.random.default_rng(0), p).astype(int)
    centre, border = out[:, 10:18, 10:18], out[:, :4, :]
    assert np.all(centre == 120)  # the (flat) image itself, shrunk
    assert np.abs(border - 120).mean() > 10  # its surroundings are a synthetic room


def test_heavy_treatment_changes_lighting(hands: tuple[np.ndarray, np.ndarray]) -> None:
    imgs, labels = hands
    p = PhotoAugmentation(photo_fraction=1.0, mirror=0.0, normalize=0.0)
    out = augment_photo_like(imgs, labels, np.random.default_rng(0), p)
    means = out.reshape(len(out), -1).mean(axis=1)
    assert means.std() > 8  # brightness varies from image to image


@pytest.mark.parametrize(
    ("field", "value"), [("photo_fraction", 1.5), ("noise", -1), ("scale", (1.2, 0.8)), ("mirror", True)]
)
def test_invalid_parameters(field: str, value: object) -> None:
    with pytest.raises(InvalidParameterError, match=field):
        PhotoAugmentation(**{field: value})  # type: ignore[arg-type]


def test_shape_errors() -> None:
    with pytest.raises(InvalidParameterError, match="labels"):
        augment_photo_like(np.zeros((2, 28, 28)), np.zeros(3), np.random.default_rng(0))
