"""Left and right hands: which letters may be mirrored, and the horizontal flip itself.

Policy: a left-handed signer fingerspells the mirror image of what a right-handed signer
shows, and no two static ASL letters are mirror images of each other (the letters that differ
only in orientation, such as K/P and G/Q/H, differ by a rotation, not by a left/right flip).
So a horizontally mirrored image of letter X is letter X signed with the other hand, for all
24 static letters. Sign Language MNIST shows one hand side only. Two complementary answers:

- **At inference, when the hand's side is known** (the learned detector's landmark model
  reports it, :attr:`~asl_recognition.photo.handpose.HandPose.side_score`), a hand of the
  other side than Sign MNIST's is mirrored to Sign MNIST's side (:func:`is_other_side`), so
  every model reads left hands as well as right ones. The skin localiser cannot tell the side:
  nothing is flipped then.
- **At training** (opt-in), random horizontal flips
  (see :mod:`asl_recognition.photo.augment`) teach a model both hands.

:data:`MIRRORABLE_LETTERS` is kept explicit so that a letter can be excluded should a future
label set contain a chirality-dependent sign.

>>> import numpy as np
>>> img = np.arange(4, dtype=np.uint8).reshape(1, 2, 2)
>>> mirror(img).tolist()
[[[1, 0], [3, 2]]]
>>> sorted(MIRRORABLE_LETTERS) == sorted(VALID_LETTERS)
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asl_recognition.data.letters import VALID_LETTERS, letter_to_label

__all__ = ["MIRRORABLE_LABELS", "MIRRORABLE_LETTERS", "SIGN_MNIST_SIDE_MIN", "is_other_side", "mirror", "random_mirror"]

#: Letters whose horizontal mirror image is the same letter (signed with the other hand).
MIRRORABLE_LETTERS: frozenset[str] = frozenset(VALID_LETTERS)
#: The same as label indexes (0 = A ... 24 = Y).
MIRRORABLE_LABELS: frozenset[int] = frozenset(letter_to_label(x) for x in MIRRORABLE_LETTERS)


#: The landmark model's side output for Sign Language MNIST's hands is high (its distribution
#: is in docs/measurements.md); below this a hand is the other one.
SIGN_MNIST_SIDE_MIN = 0.5


def is_other_side(side_score: float) -> bool:
    """True when a hand's side score (:class:`~asl_recognition.photo.handpose.HandPose`) says
    it is the other hand than Sign Language MNIST's, so that its crop should be mirrored.

    >>> is_other_side(0.98), is_other_side(0.03)
    (False, True)
    """
    return side_score < SIGN_MNIST_SIDE_MIN


def mirror(images: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Flip ``(N, H, W)`` (or one ``(H, W)``) image(s) left to right."""
    return np.ascontiguousarray(np.asarray(images)[..., ::-1])


def random_mirror(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.int64],
    rng: np.random.Generator,
    *,
    probability: float = 0.5,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Mirror each image whose label is mirrorable with ``probability``; return (images, flipped).

    >>> import numpy as np
    >>> imgs = np.zeros((3, 2, 2), np.uint8); imgs[:, :, 0] = 9
    >>> out, flipped = random_mirror(imgs, np.array([0, 1, 2]), np.random.default_rng(0), probability=1.0)
    >>> flipped.tolist(), out[:, :, 1].max().item()
    ([True, True, True], 9)
    """
    allowed = np.isin(labels, sorted(MIRRORABLE_LABELS))
    flipped = allowed & (rng.random(len(images)) < probability)
    out = np.array(images, copy=True)
    out[flipped] = mirror(out[flipped])
    return out, flipped
