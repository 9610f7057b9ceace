"""Corruptions: deterministic, seeded, vectorised, shape-preserving."""

from __future__ import annotations

import time

import numpy as np
import pytest

from asl_recognition.compare import CORRUPTIONS, DEFAULT_CORRUPTIONS, corrupt
from asl_recognition.compare._robustness import validate_corruptions
from asl_recognition.errors import InvalidParameterError
from asl_recognition.testing import synthetic_images


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return synthetic_images(np.arange(24) % 24, seed=3)


def test_default_set_covers_every_corruption_with_three_severities() -> None:
    assert (
        set(DEFAULT_CORRUPTIONS)
        == set(CORRUPTIONS)
        == {"rotation", "shift", "scale", "contrast", "noise", "blur", "occlusion"}
    )
    assert all(len(v) == 3 for v in DEFAULT_CORRUPTIONS.values())


@pytest.mark.parametrize("name", sorted(DEFAULT_CORRUPTIONS))
def test_corruption_is_deterministic_and_changes_images(images: np.ndarray, name: str) -> None:
    param = DEFAULT_CORRUPTIONS[name][1]
    a = corrupt(images, name, param, seed=0, level=2)
    b = corrupt(images, name, param, seed=0, level=2)
    assert a.shape == images.shape
    assert a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, images)
    # damage grows with severity (mean absolute change)
    damage = [
        np.abs(corrupt(images, name, p, seed=0, level=i).astype(float) - images).mean()
        for i, p in enumerate(DEFAULT_CORRUPTIONS[name], start=1)
    ]
    assert damage[0] < damage[2]


@pytest.mark.parametrize("name", ["rotation", "shift", "noise", "occlusion", "scale", "contrast"])
def test_seed_changes_the_random_choices(images: np.ndarray, name: str) -> None:
    param = DEFAULT_CORRUPTIONS[name][2]
    assert not np.array_equal(
        corrupt(images, name, param, seed=0, level=3), corrupt(images, name, param, seed=1, level=3)
    )


def test_zero_strength_geometry_is_identity(images: np.ndarray) -> None:
    for name in ("rotation", "shift", "scale"):
        np.testing.assert_array_equal(corrupt(images, name, 0.0, seed=0, level=1), images)


def test_rotation_by_180_flips_the_image(images: np.ndarray) -> None:
    rotated = corrupt(images, "rotation", 180.0, seed=0, level=1)
    np.testing.assert_array_equal(rotated, images[:, ::-1, ::-1])


def test_corrupting_each_image_alone_gives_the_same_pixels(images: np.ndarray) -> None:
    """Vectorised over the batch without mixing images: blur of a batch == blur of each image."""
    batch = corrupt(images, "blur", 1.0, seed=0, level=1)
    for i in (0, 5):
        np.testing.assert_array_equal(batch[i], corrupt(images[i : i + 1], "blur", 1.0, seed=0, level=1)[0])


def test_full_test_set_size_is_fast() -> None:
    big = np.random.default_rng(0).integers(0, 256, size=(7172, 28, 28), dtype=np.uint8)
    start = time.perf_counter()
    for name, params in DEFAULT_CORRUPTIONS.items():
        corrupt(big, name, params[2], seed=0, level=3)
    # vectorised: ~1-2 s on one core; a per-image Python loop takes far longer
    assert time.perf_counter() - start < 30


def test_invalid_corruptions_are_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="'fog' is not a corruption; available: blur"):
        validate_corruptions({"fog": [1]})
    with pytest.raises(InvalidParameterError, match=r"corruption 'noise' needs .* 0..255, got \[-1\]"):
        validate_corruptions({"noise": [-1]})
    with pytest.raises(InvalidParameterError, match="shape"):
        corrupt(np.zeros((3, 784)), "noise", 1.0, seed=0, level=1)
