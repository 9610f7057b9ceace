"""Left/right hands: the policy, the flip, and that preprocessing treats mirrored photos alike."""

from __future__ import annotations

import numpy as np

from asl_recognition.data.letters import VALID_LABELS, VALID_LETTERS
from asl_recognition.photo import MIRRORABLE_LETTERS, find_hand, mirror, preprocess_photo, random_mirror
from asl_recognition.photo._synthetic import synthetic_hand_photo
from asl_recognition.photo.mirror import MIRRORABLE_LABELS


def test_policy_every_static_letter_is_mirrorable() -> None:
    assert set(MIRRORABLE_LETTERS) == set(VALID_LETTERS)
    assert set(MIRRORABLE_LABELS) == set(VALID_LABELS)


def test_mirror_is_an_involution_and_keeps_the_input() -> None:
    imgs = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    before = imgs.copy()
    once = mirror(imgs)
    assert not np.array_equal(once, imgs)
    np.testing.assert_array_equal(mirror(once), imgs)
    np.testing.assert_array_equal(imgs, before)
    np.testing.assert_array_equal(once[:, :, 0], imgs[:, :, -1])


def test_random_mirror_respects_probability_and_policy(monkeypatch: object) -> None:
    imgs = np.random.default_rng(1).integers(0, 256, (400, 4, 4), dtype=np.uint8)
    labels = np.resize(np.asarray(VALID_LABELS), 400)
    out, flipped = random_mirror(imgs, labels, np.random.default_rng(0), probability=0.5)
    assert 0.4 < flipped.mean() < 0.6
    np.testing.assert_array_equal(out[flipped], mirror(imgs[flipped]))
    np.testing.assert_array_equal(out[~flipped], imgs[~flipped])
    none, f0 = random_mirror(imgs, labels, np.random.default_rng(0), probability=0.0)
    assert not f0.any() and np.array_equal(none, imgs)
    # a label outside the policy (J = 9, a motion letter) is never flipped
    _, f_j = random_mirror(imgs[:10], np.full(10, 9), np.random.default_rng(0), probability=1.0)
    assert not f_j.any()


def test_skin_preprocessing_is_mirror_equivariant() -> None:
    """Without landmarks the hand's side is unknown: a left hand photo gives the mirror image
    of the right hand's input, and nothing is flipped (left to a model trained with flips)."""
    photo, _ = synthetic_hand_photo(palm=(110, 130), arm_to="bottom")
    flipped = np.ascontiguousarray(photo[:, ::-1])
    a, b = find_hand(photo, detector="skin"), find_hand(flipped, detector="skin")
    assert a is not None and b is not None
    assert abs((photo.shape[1] - a.right) - b.left) <= 2 and abs(a.top - b.top) <= 2
    ra, rb = preprocess_photo(photo, detector="skin"), preprocess_photo(flipped, detector="skin")
    assert not ra.mirrored and not rb.mirrored
    right, left = ra.image, rb.image
    assert np.abs(right.astype(int) - mirror(left).astype(int)).mean() < 6
