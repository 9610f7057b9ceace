"""Cropping, area resize and contrast matching of hand crops."""

from __future__ import annotations

import numpy as np

from asl_recognition.photo.normalize import (
    HAND_HIGH,
    HAND_LOW,
    SIGN_MNIST_HIGH,
    SIGN_MNIST_LOW,
    crop_to_28,
    cut_square,
    match_contrast,
)


def test_cut_square_shifts_inside_before_padding() -> None:
    img = np.arange(100).reshape(10, 10)
    np.testing.assert_array_equal(cut_square(img, left=8, top=-3, side=4), img[0:4, 6:10])
    np.testing.assert_array_equal(cut_square(img, left=2, top=3, side=5), img[3:8, 2:7])


def test_cut_square_larger_than_the_image_mirrors_the_edges() -> None:
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = cut_square(img, left=-1, top=-2, side=6)
    assert out.shape == (6, 6)
    assert set(np.unique(out)) <= set(np.unique(img))  # only real pixel values, no constant fill
    rgb = np.stack([img] * 3, axis=-1)
    assert cut_square(rgb, left=0, top=-1, side=5).shape == (5, 5, 3)


def test_crop_to_28_is_an_area_average() -> None:
    checker = (np.indices((56, 56)).sum(axis=0) % 2 * 200).astype(np.uint8)
    assert np.all(crop_to_28(checker, left=0, top=0, side=56) == 100)
    small = (np.arange(784).reshape(28, 28) % 200).astype(np.uint8)
    blocks = np.kron(small, np.ones((3, 3), np.uint8))
    np.testing.assert_array_equal(crop_to_28(blocks, left=0, top=0, side=84), small)


def test_match_contrast_maps_percentiles_to_sign_mnist() -> None:
    rng = np.random.default_rng(0)
    dim = rng.integers(10, 60, (28, 28)).astype(np.uint8)  # a dark, low-contrast crop
    lo, hi = np.percentile(match_contrast(dim), [2, 98])
    assert abs(lo - SIGN_MNIST_LOW) <= 6 and abs(hi - SIGN_MNIST_HIGH) <= 6
    # order of pixel values is kept (a linear map)
    out = match_contrast(dim).astype(int)
    assert np.all(np.diff(out.ravel()[np.argsort(dim.ravel(), kind="stable")]) >= 0)


def test_match_contrast_exposes_for_the_hand() -> None:
    img = np.full((28, 28), 230, np.uint8)  # bright wall
    hand = np.zeros((28, 28), bool)
    hand[6:24, 8:20] = True
    img[hand] = np.linspace(40, 90, hand.sum()).astype(np.uint8)  # dark, backlit hand
    out = match_contrast(img, hand)
    lo, hi = np.percentile(out[hand], [5, 95])
    assert abs(lo - HAND_LOW) <= 4 and abs(hi - HAND_HIGH) <= 4
    assert np.all(out[~hand] == 255)  # the wall clips to white, as in an image exposed for the hand
    # too few hand pixels: the whole-crop stretch is used instead
    tiny = np.zeros((28, 28), bool)
    tiny[0, :3] = True
    np.testing.assert_array_equal(match_contrast(img, tiny), match_contrast(img))


def test_flat_crop_is_unchanged() -> None:
    flat = np.full((28, 28), 17, np.uint8)
    np.testing.assert_array_equal(match_contrast(flat), flat)
