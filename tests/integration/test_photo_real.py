"""The photo pipeline on the real development photos (one signer, 23 letters).

Each photo goes through the pipeline once (module fixtures), and the checks read the shared
results: :func:`preprocess_photo` locates the hand with :func:`find_hand` first, so its
observation's ``hand`` is that box (``test_the_pipeline_box_is_find_hands_box`` checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from asl_recognition.images import preprocess_image
from asl_recognition.photo import HandBox, HandObservation, find_hand, preprocess_photo
from asl_recognition.photo.handpose import hand_detector_available

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


@pytest.fixture(scope="module")
def observed(photos: list[tuple[Path, np.ndarray]]) -> list[HandObservation]:
    """``preprocess_photo`` of every photo (default detector), once for the whole module."""
    return [preprocess_photo(rgb) for _, rgb in photos]


@pytest.fixture(scope="module")
def mirrored(photos: list[tuple[Path, np.ndarray]]) -> list[HandObservation]:
    """``preprocess_photo`` of every third photo mirrored left-right (``photos[::3]``)."""
    return [preprocess_photo(np.ascontiguousarray(rgb[:, ::-1])) for _, rgb in photos[::3]]


def _same_box(a: HandBox | None, b: HandBox | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if (a.left, a.top, a.right, a.bottom, a.palm, a.gains) != (b.left, b.top, b.right, b.bottom, b.palm, b.gains):
        return False
    if a.pose is None or b.pose is None:
        return a.pose is None and b.pose is None
    return bool(np.allclose(a.pose.landmarks, b.pose.landmarks))


def _learned(observation: HandObservation) -> HandBox | None:
    """What ``find_hand(rgb, detector="learned")`` gives for the photo of ``observation``: the
    default detector's box when the landmarks found the hand, else None (no skin fallback)."""
    hand = observation.hand
    return hand if hand is not None and hand.pose is not None else None


def test_the_pipeline_box_is_find_hands_box(photos: list[tuple[Path, np.ndarray]],
                                            observed: list[HandObservation]) -> None:  # fmt: skip
    """What the shared fixtures rely on, on a sample: the pipeline's box is ``find_hand``'s, and
    the learned detector alone gives it when it has landmarks (None otherwise)."""
    assert hand_detector_available(), "hand models not installed: run 'asl-recognition install-hand-models'"
    sample = range(0, len(photos), max(1, len(photos) // 24))
    for i in sample:
        rgb = photos[i][1]
        assert _same_box(find_hand(rgb), observed[i].hand), photos[i][0]
        assert _same_box(find_hand(rgb, detector="learned"), _learned(observed[i])), photos[i][0]
    assert any(observed[i].pose is not None for i in sample)


def test_every_photo_goes_through_the_photo_pipeline(photos: list[tuple[Path, np.ndarray]],
                                                     observed: list[HandObservation]) -> None:  # fmt: skip
    for (f, _), obs in list(zip(photos, observed, strict=True))[::4]:
        out = preprocess_image(f)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        np.testing.assert_array_equal(out, obs.image, err_msg=str(f))


@pytest.mark.slow
def test_a_plausible_hand_is_found_in_almost_every_photo(photos: list[tuple[Path, np.ndarray]],
                                                         observed: list[HandObservation]) -> None:  # fmt: skip
    plausible = 0
    for (_, rgb), obs in zip(photos, observed, strict=True):
        box = obs.hand
        if box is None:
            continue
        side = min(rgb.shape[:2])
        centre_r, centre_c = (box.top + box.bottom) / 2, (box.left + box.right) / 2
        inside = 0 <= centre_r < rgb.shape[0] and 0 <= centre_c < rgb.shape[1]
        plausible += inside and 0.15 * side <= box.side <= 1.2 * side
    assert plausible >= 0.9 * len(photos)


@pytest.mark.slow
def test_mirrored_photos_give_mirrored_boxes(photos: list[tuple[Path, np.ndarray]], observed: list[HandObservation],
                                             mirrored: list[HandObservation]) -> None:  # fmt: skip
    agree = 0
    for (_, rgb), original, flipped in zip(photos[::3], observed[::3], mirrored, strict=True):
        a, b = original.hand, flipped.hand
        if a is None or b is None:
            agree += a is None and b is None
            continue
        tol = 0.1 * a.side  # resampling to the working size is not exactly mirror-symmetric
        agree += abs((rgb.shape[1] - a.right) - b.left) <= tol and abs(a.top - b.top) <= tol
    assert agree >= 0.85 * len(mirrored)


@pytest.mark.slow
def test_hand_crops_look_more_like_sign_mnist_than_centre_crops(
    photos: list[tuple[Path, np.ndarray]], observed: list[HandObservation], real_test: Any
) -> None:
    """Correlation with the mean Sign MNIST image (a bright hand filling the frame) rises."""
    mean = real_test.images.reshape(len(real_test.images), -1).astype(np.float64).mean(axis=0)

    def similarity(images: list[np.ndarray]) -> float:
        return float(np.mean([np.corrcoef(i.ravel().astype(np.float64), mean)[0, 1] for i in images]))

    before = [preprocess_image(np.asarray(Image.fromarray(rgb).convert("L"))) for _, rgb in photos]
    after = [obs.image for obs in observed]
    assert similarity(after) > similarity(before) + 0.05


@pytest.mark.slow
def test_learned_detector_finds_the_hand_in_almost_every_photo(photos: list[tuple[Path, np.ndarray]],
                                                               observed: list[HandObservation]) -> None:  # fmt: skip
    """The landmarks' box holds the hand: it lies inside the photo, is hand-sized, and its
    landmarks span most of it."""
    assert hand_detector_available(), "hand models not installed: run 'asl-recognition install-hand-models'"
    good = 0
    for (_, rgb), obs in zip(photos, observed, strict=True):
        box = _learned(obs)
        if box is None or box.pose is None:
            continue
        side = min(rgb.shape[:2])
        span = np.ptp(box.pose.landmarks, axis=0).max()
        centre = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
        inside = 0 <= centre[0] < rgb.shape[1] and 0 <= centre[1] < rgb.shape[0]
        good += inside and 0.15 * side <= box.side <= 1.2 * side and 0.6 * box.side <= span < box.side
    assert good >= 0.9 * len(photos)


@pytest.mark.slow
def test_left_hands_are_mirrored_to_the_sign_mnist_side(observed: list[HandObservation],
                                                        mirrored: list[HandObservation]) -> None:  # fmt: skip
    """The dev signer uses Sign MNIST's hand side; the same photos mirrored show the other hand,
    which the landmarks tell, so they give the originals' 28x28 inputs, not their mirror images."""
    same = 0
    for right, left in zip(observed[::3], mirrored, strict=True):
        if right.hand is None or right.hand.pose is None or left.hand is None:
            continue
        a, b = right.image.astype(int), left.image.astype(int)
        same += (not right.mirrored) and left.mirrored and np.abs(a - b).mean() < np.abs(a - b[:, ::-1]).mean()
    assert same >= 0.85 * len(mirrored)


def test_detector_is_safe_to_share_between_threads(photos: list[tuple[Path, np.ndarray]]) -> None:
    """The scoring service calls from several threads; LiteRT interpreters are not thread-safe."""
    from concurrent.futures import ThreadPoolExecutor

    from asl_recognition.photo.handpose import detect_hand_pose

    sample = [rgb for _, rgb in photos[:8]]
    alone = [detect_hand_pose(rgb) for rgb in sample]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(detect_hand_pose, sample * 2))
    for a, b in zip(alone * 2, together, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)


def test_landmarks_are_read_in_sign_mnist_images(real_test: Any) -> None:
    """The landmark model reads the hand in most 28x28 Sign MNIST crops (pose features' input)."""
    from asl_recognition.photo.handpose import MIN_PRESENCE, crop_landmarks

    points, presence = crop_landmarks(real_test.images[::25])
    found = presence >= MIN_PRESENCE
    assert found.mean() >= 0.85
    span = np.ptp(points[found], axis=1).max(axis=1)  # the hand fills most of the crop
    assert 12 < np.median(span) < 28


def test_more_detector_threads_find_the_same_hands(photos: list[tuple[Path, np.ndarray]]) -> None:
    """``handpose.set_threads`` (what a server worker's thread cap sets) changes the interpreters,
    not what they find."""
    from asl_recognition.photo import handpose

    assert hand_detector_available()
    one = [find_hand(rgb) for _, rgb in photos[::25]]
    single = handpose._models()
    try:
        handpose.set_threads(2)
        assert handpose._models() is not single  # new interpreters, two threads each
        two = [find_hand(rgb) for _, rgb in photos[::25]]
    finally:
        handpose.set_threads(1)
    assert handpose._models() is single
    for a, b in zip(one, two, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None and a.pose is not None and b.pose is not None:
            np.testing.assert_allclose(a.pose.landmarks, b.pose.landmarks, atol=0.05)
