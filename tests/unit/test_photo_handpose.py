"""The learned hand detector's own arithmetic: anchors, decoding, regions, silhouette.

The networks themselves run in ``tests/integration/test_photo_real.py`` on real photos; here
the code around them is checked against stated geometry, with a stand-in for the palm network
where its raw outputs must be controlled.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from asl_recognition.errors import InvalidParameterError
from asl_recognition.photo import find_hand
from asl_recognition.photo.handpose import (
    PALM_INPUT,
    HandPose,
    _anchors,
    _crop,
    _palms,
    _Region,
    _region_from_landmarks,
    _to_photo,
    _upright,
)
from asl_recognition.photo.localize import HandBox, hand_mask_in_box


def test_anchors_follow_blazepalm_layout() -> None:
    a = _anchors()
    assert a.shape == (2016, 2)
    np.testing.assert_allclose(a[0], [0.5 / 24, 0.5 / 24])  # stride 8: 24x24 cells, 2 per cell
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(a[1152], [0.5 / 12, 0.5 / 12])  # stride 16: 12x12 cells, 6 per cell
    np.testing.assert_allclose(a[1152:1158], np.tile(a[1152], (6, 1)))
    assert ((a > 0) & (a < 1)).all()


@pytest.mark.parametrize(
    ("dx", "dy", "expected"), [(0, -1, 0.0), (1, 0, math.pi / 2), (-1, 0, -math.pi / 2), (1, 1, 0.75 * math.pi)]
)
def test_upright_rotation(dx: float, dy: float, expected: float) -> None:
    """The rotation of wrist -> knuckle from pointing up (image y grows downwards), in -pi..pi."""
    got = _upright(np.array([10.0, 10.0]), np.array([10.0 + dx, 10.0 + dy]))
    assert math.isclose(got, expected, abs_tol=1e-9)


@pytest.mark.parametrize("rotation", [0.0, 0.6, -2.0])
def test_crop_and_projection_agree(rotation: float) -> None:
    """A dot at photo position p lands in the crop where _to_photo says crop pixels come from."""
    region = _Region(cx=120.0, cy=90.0, side=100.0, rotation=rotation)
    uv = np.array([[40.5, 150.5]])  # centre of crop pixel (40, 150)
    x, y = _to_photo(uv, region, 224)[0]
    photo = np.zeros((200, 260, 3), np.uint8)
    photo[round(y) - 2 : round(y) + 3, round(x) - 2 : round(x) + 3] = 255
    crop = _crop(photo, region, 224)
    rows, cols = np.nonzero(crop[..., 0] > 128)
    assert abs(rows.mean() - 150) < 2.5 and abs(cols.mean() - 40) < 2.5


def test_region_from_landmarks_is_upright_and_covers_the_hand() -> None:
    # a hand pointing right: wrist at the left, fingers to the right
    rng = np.random.default_rng(0)
    pts = np.column_stack([np.linspace(100, 200, 21), 100 + rng.uniform(-20, 20, 21)])
    pts[0], pts[9] = (100.0, 100.0), (160.0, 100.0)
    region = _region_from_landmarks(pts)
    assert math.isclose(region.rotation, math.pi / 2, abs_tol=1e-9)
    corners = _to_photo(np.array([[0.0, 0.0], [224.0, 224.0]]), region, 224)
    lo, hi = corners.min(0), corners.max(0)
    assert (lo <= pts.min(0)).all() and (hi >= pts.max(0)).all()


def test_palm_decoding_merges_overlaps_and_undoes_the_letterbox() -> None:
    """Two overlapping palms merge (score-weighted), a far one stays; boxes return to photo pixels."""
    raw = np.zeros((1, 2016, 18), np.float32)
    logits = np.full((1, 2016, 1), -20.0, np.float32)
    a = _anchors()
    near = [int(np.argmin(np.hypot(*(a - c).T))) for c in ((0.5, 0.5), (0.52, 0.5), (0.2, 0.2))]
    for i, logit in zip(near, (4.0, 2.0, 3.0), strict=True):
        raw[0, i, 2:4] = 0.2 * PALM_INPUT  # 20 % of the input wide and high
        logits[0, i, 0] = logit

    def model(x: np.ndarray) -> dict[str, np.ndarray]:
        assert x.shape == (1, PALM_INPUT, PALM_INPUT, 3) and x.dtype == np.float32 and x.max() <= 1.0
        return {"Identity": raw, "Identity_1": logits}

    photo = np.zeros((100, 200, 3), np.uint8)  # letterboxed into 200x200: 50 px above
    found = _palms(photo, model)
    assert len(found) == 2
    (s1, box1, kp1), (s2, _, _) = found
    assert s1 > s2 and math.isclose(s1, 1 / (1 + math.exp(-4.0)), rel_tol=1e-6)
    w1, w2 = 1 / (1 + math.exp(-4.0)), 1 / (1 + math.exp(-2.0))
    cx = (w1 * a[near[0], 0] + w2 * a[near[1], 0]) / (w1 + w2) * 200
    assert math.isclose((box1[0] + box1[2]) / 2, cx, abs_tol=1e-3)
    assert math.isclose((box1[1] + box1[3]) / 2, a[near[0], 1] * 200 - 50, abs_tol=1e-3)
    assert math.isclose(box1[2] - box1[0], 40.0, abs_tol=1e-3)
    assert kp1.shape == (7, 2)


def _pose() -> HandPose:
    """An upright open hand: wrist at (100, 180), middle knuckle 60 px above, fingers up."""
    lm = np.zeros((21, 2))
    lm[0] = (100, 180)
    for finger, x in enumerate((70, 85, 100, 115, 130)):
        base = 1 + 4 * finger
        for j in range(4):
            lm[base + j] = (x, 130 - 20 * j) if finger else (70 - 8 * j, 160 - 12 * j)
    lm[9] = (100, 120)
    return HandPose(landmarks=lm, presence=0.99, palm_score=0.9, side_score=0.95)


def test_silhouette_mask_follows_the_landmarks_and_the_placed_crop() -> None:
    pose = _pose()
    photo = np.zeros((200, 200, 3), np.uint8)
    box = HandBox(left=40, top=50, right=180, bottom=190, palm=(150, 100), palm_radius=30.0, pose=pose)
    mask = hand_mask_in_box(photo, box)
    assert mask.shape == (28, 28)
    to28 = lambda x, y: (int((y - 50) * 28 / 140), int((x - 40) * 28 / 140))  # noqa: E731
    assert mask[to28(100, 150)] and mask[to28(100, 80)]  # palm and middle finger
    assert not mask[to28(45, 55)] and not mask[to28(175, 185)]  # corners
    # a box sticking out of the photo is cut shifted inside: the mask moves with it
    out = HandBox(left=100, top=50, right=240, bottom=190, palm=(150, 100), palm_radius=30.0, pose=pose)
    shifted = hand_mask_in_box(photo, out)  # cut at left=60
    inside = HandBox(left=60, top=50, right=200, bottom=190, palm=(150, 100), palm_radius=30.0, pose=pose)
    np.testing.assert_array_equal(shifted, hand_mask_in_box(photo, inside))


def test_find_hand_rejects_an_unknown_detector() -> None:
    with pytest.raises(InvalidParameterError, match="detector"):
        find_hand(np.zeros((50, 50, 3), np.uint8), detector="yolo")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_detector_threads_must_be_a_positive_integer(bad: object) -> None:
    from asl_recognition.photo.handpose import set_threads

    with pytest.raises(InvalidParameterError, match="threads"):
        set_threads(bad)  # type: ignore[arg-type]
