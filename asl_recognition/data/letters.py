"""The label <-> letter mapping of Sign Language MNIST.

Labels are letter indexes, 0=A ... 24=Y. J (9) and Z (25) need motion and never occur, so 24
labels are valid.

>>> label_to_letter(0), label_to_letter(24)
('A', 'Y')
>>> letter_to_label("k")
10
>>> len(VALID_LABELS)
24
"""

from __future__ import annotations

import string
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import InvalidParameterError

__all__ = [
    "ALL_LETTERS",
    "EXCLUDED_LABELS",
    "NUM_CLASSES",
    "VALID_LABELS",
    "VALID_LETTERS",
    "label_to_letter",
    "labels_to_letters",
    "letter_to_label",
    "letters_to_labels",
]

ALL_LETTERS: str = string.ascii_uppercase
EXCLUDED_LABELS: frozenset[int] = frozenset({9, 25})
VALID_LABELS: tuple[int, ...] = tuple(i for i in range(26) if i not in EXCLUDED_LABELS)
VALID_LETTERS: tuple[str, ...] = tuple(ALL_LETTERS[i] for i in VALID_LABELS)
NUM_CLASSES: int = len(VALID_LABELS)

_LETTER_ARRAY = np.array(list(ALL_LETTERS))


def label_to_letter(label: int) -> str:
    """Return the letter of a valid label id (0=A ... 24=Y; 9 and 25 are invalid)."""
    if isinstance(label, bool) or int(label) != label or int(label) not in VALID_LABELS:
        raise InvalidParameterError(
            f"{label!r} is not a valid Sign MNIST label; valid labels are 0-24 except 9 (J)"
        )
    return ALL_LETTERS[int(label)]


def letter_to_label(letter: str) -> int:
    """Return the label id of a letter (case-insensitive); J and Z are not valid."""
    if not isinstance(letter, str) or len(letter) != 1 or letter.upper() not in VALID_LETTERS:
        raise InvalidParameterError(
            f"{letter!r} is not a static ASL letter; valid letters are {''.join(VALID_LETTERS)}"
        )
    return ALL_LETTERS.index(letter.upper())


def labels_to_letters(labels: Iterable[int] | npt.NDArray[np.integer]) -> npt.NDArray[np.str_]:
    """Vectorised :func:`label_to_letter`; raises on any invalid label."""
    arr = np.asarray(list(labels) if not isinstance(labels, np.ndarray) else labels)
    if arr.size and (
        not np.issubdtype(arr.dtype, np.integer)
        or arr.min() < 0
        or arr.max() > 25
        or np.isin(arr, list(EXCLUDED_LABELS)).any()
    ):
        bad = [int(x) for x in np.unique(arr) if int(x) not in VALID_LABELS][:5]
        raise InvalidParameterError(f"invalid Sign MNIST labels: {bad}")
    return _LETTER_ARRAY[arr.astype(np.int64)] if arr.size else np.array([], dtype="<U1")


def letters_to_labels(letters: Iterable[str]) -> npt.NDArray[np.int64]:
    """Vectorised :func:`letter_to_label`."""
    return np.array([letter_to_label(x) for x in letters], dtype=np.int64)
