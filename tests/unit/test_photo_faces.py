"""Face detection for the hand finder, on scikit-image's shipped astronaut photo (a real face)."""

from __future__ import annotations

import numpy as np
import pytest

from asl_recognition.photo._synthetic import synthetic_hand_photo
from asl_recognition.photo.faces import FaceBox, face_boxes, face_exclusion_mask


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage.data import astronaut as load

    return np.asarray(load(), dtype=np.uint8)  # 512x512, Eileen Collins' face at about (115, 227)


def test_a_real_face_is_found_in_photo_coordinates(astronaut: np.ndarray) -> None:
    faces = face_boxes(astronaut)
    assert len(faces) == 1
    f = faces[0]
    assert f.top <= 115 < f.bottom and f.left <= 227 < f.right
    assert 60 <= f.right - f.left <= 160  # a face, not the whole picture
    # the same face in a photo four times larger is found at four times the coordinates
    big = np.repeat(np.repeat(astronaut, 2, axis=0), 2, axis=1)
    (g,) = face_boxes(big)
    assert abs(g.left - 2 * f.left) <= 12 and abs(g.top - 2 * f.top) <= 12


def test_no_face_on_a_hand_or_a_wall() -> None:
    photo, _ = synthetic_hand_photo()
    assert face_boxes(photo) == []
    assert face_boxes(np.full((30, 30, 3), 200, np.uint8)) == []  # too small to hold a face


def test_exclusion_covers_face_ears_and_neck() -> None:
    mask = face_exclusion_mask((50, 50), [FaceBox(20, 10, 30, 20)])
    # a 10 px face: rows 6..30 (forehead to neck), columns 17..33 (ears)
    assert mask[15, 25] and mask[28, 25] and not mask[32, 25] and not mask[15, 40]
    assert not face_exclusion_mask((10, 10), []).any()


def test_the_hand_finder_ignores_a_bigger_face(astronaut: np.ndarray) -> None:
    from PIL import Image

    from asl_recognition.photo import find_hand
    from asl_recognition.photo.skin import skin_mask

    # a hand and forearm on a wall, and beside it the astronaut's head and shoulders, whose
    # skin-coloured face (and the beige studio wall around it) is a larger region than the hand
    photo, (pr, pc) = synthetic_hand_photo(240, 320, palm=(150, 250), radius=14, frame=False)
    head = astronaut[40:240, 140:320]
    photo[60:200, 20:146] = np.asarray(Image.fromarray(head).resize((126, 140), Image.Resampling.BOX))
    mask = skin_mask(photo)
    assert mask[60:200, 20:146].sum() > 2 * mask[:, 150:].sum()
    (face,) = face_boxes(photo)
    assert face.top >= 60 and face.bottom <= 200 and face.left >= 20 and face.right <= 146
    box = find_hand(photo, detector="skin")
    assert box is not None
    assert box.top <= pr < box.bottom and box.left <= pc < box.right
    assert box.left >= 146  # nothing of the head
