"""Find the hand in a colour photo: skin segmentation, blob choice, palm centre, hand box.

Sign Language MNIST images are tight crops of one hand; real photos show a hand somewhere in a
room, usually with its forearm. :func:`find_hand` returns the square box that a Sign MNIST crop
of the same photo would have been, or ``None`` when no plausible hand is visible (the caller
then falls back to a centre crop). Only NumPy, SciPy and the decoded pixels are used: no model
files, nothing downloaded.

Steps (each is justified in ``docs/photos.md``):

1. **Skin mask** in YCbCr chroma: a pixel is skin when ``Cr`` and ``Cb`` lie in the range that
   Chai & Ngan (1999) found to hold skin of every tone (luma is ignored, so lighting matters
   little). Very dark and blown-out pixels are excluded (their chroma is noise).
2. **Clean-up**: a morphological opening removes speckle; once the blob is chosen (step 3), a
   closing fills its small holes (closing earlier could weld the hand to a nearby frame).
3. **Blob choice**: among connected components, those hugging the image border along more than
   half a side (window frames, furniture edges, a wooden table) are dropped; the largest
   remaining component is the hand (with its arm).
4. **Palm centre**: the arm enters the picture through the border, so the hand is the end of
   the blob *away* from where it touches the border. The palm is the thickest part of that end:
   the maximum of the Euclidean distance transform (the largest inscribed circle) among blob
   pixels in the half of the blob farthest from the entry point. Its radius ``r`` measures the
   hand's size independently of which fingers are extended.
5. **Hand box**: the blob pixels within ``HAND_REACH * r`` of the palm centre (fingers are about
   as long as the palm is wide) bound the hand; the box is made square, with a small margin, as
   in Sign MNIST.

>>> import numpy as np
>>> photo = np.full((120, 160, 3), (200, 200, 205), dtype=np.uint8)    # grey wall
>>> photo[30:80, 60:100] = (200, 140, 110)                              # a skin-coloured palm
>>> photo[80:, 70:90] = (190, 135, 105)                                 # its forearm
>>> box = find_hand(photo)
>>> box is not None and box.left <= 60 and box.right >= 100 and box.top <= 30
True
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import numpy.typing as npt

from asl_recognition.data.arrays import IMAGE_SHAPE

__all__ = ["HAND_REACH", "HandBox", "find_hand", "hand_mask_in_box", "skin_mask"]

logger = logging.getLogger(__name__)

#: Skin chroma ranges (Chai & Ngan 1999, "Face segmentation using skin-color map").
CR_RANGE = (133, 173)
CB_RANGE = (77, 127)
#: Luma outside this range carries no usable chroma (sensor noise or clipping).
LUMA_RANGE = (30, 250)
#: Hand extent around the palm centre, in palm radii: palm half-width r, palm length ~2r,
#: fingers ~2r more; 3.2 r reaches the fingertips of a hand seen from the front.
HAND_REACH = 3.2
#: The wrist lies about this many palm radii from the palm centre towards the arm; Sign MNIST
#: crops show the hand and only the start of the wrist.
WRIST = 1.6
#: Margin added around the hand (fraction of the side); Sign MNIST crops are tight.
MARGIN = 0.08
#: Working resolution (longest side) for segmentation: enough for a hand, cheap for any photo.
WORK_SIDE = 160
#: Pixels this close to the edge (working resolution) count as touching it (the clean-up
#: opening erodes a blob's last pixel or two at the edge).
BORDER_BAND = 3
#: Smallest hand accepted, as a fraction of the working image area.
MIN_AREA_FRACTION = 0.01


@dataclasses.dataclass(frozen=True)
class HandBox:
    """A square box in pixel coordinates of the analysed image (may extend past its edges).

    Attributes:
        left, top, right, bottom: box edges (right/bottom exclusive).
        palm: ``(row, col)`` of the palm centre.
        palm_radius: radius of the largest circle inscribed in the palm, in pixels.
    """

    left: int
    top: int
    right: int
    bottom: int
    palm: tuple[int, int]
    palm_radius: float

    @property
    def side(self) -> int:
        """Side length of the square box."""
        return self.right - self.left


def skin_mask(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Steps 1-2: boolean mask of skin-coloured pixels of an ``(H, W, 3)`` RGB image (opened).

    >>> import numpy as np
    >>> skin_mask(np.array([[[200, 140, 110], [200, 200, 205]]], dtype=np.uint8)).tolist()
    [[True, False]]
    """
    from scipy import ndimage

    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b  # ITU-R BT.601, as JPEG's YCbCr
    cr = 128.0 + 0.713 * (r - y)
    cb = 128.0 + 0.564 * (b - y)
    mask = (
        (cr >= CR_RANGE[0]) & (cr <= CR_RANGE[1])
        & (cb >= CB_RANGE[0]) & (cb <= CB_RANGE[1])
        & (y >= LUMA_RANGE[0]) & (y <= LUMA_RANGE[1])
    )
    if min(mask.shape) >= 9:
        mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    return np.asarray(mask, dtype=bool)


def _choose_blob(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_] | None:
    """Step 3: the largest component that does not hug the border; None if none is big enough."""
    from scipy import ndimage

    labels, n = ndimage.label(mask)
    if n == 0:
        return None
    h, w = mask.shape
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    best, best_area = 0, 0
    for k in range(1, n + 1):
        if areas[k] < MIN_AREA_FRACTION * h * w or areas[k] <= best_area:
            continue
        comp = labels == k
        b = BORDER_BAND
        along = (comp[:b].any(0).mean(), comp[-b:].any(0).mean(), comp[:, :b].any(1).mean(),
                 comp[:, -b:].any(1).mean())
        if max(along) > 0.5:  # a strip along a whole side: frame, shelf or table, not an arm
            continue
        best, best_area = k, int(areas[k])
    if best == 0:
        return None
    # closing only now, so that it cannot weld the hand to a nearby frame or shelf
    return np.asarray(ndimage.binary_closing(labels == best, structure=np.ones((5, 5), bool)), dtype=bool)


def find_hand(rgb: npt.NDArray[np.uint8]) -> HandBox | None:
    """Return the square hand box of an ``(H, W, 3)`` uint8 RGB photo, or None if no hand.

    The box is in the coordinates of ``rgb``; it may extend past the image edges (the caller
    pads). See the module docstring for the steps.
    """
    from scipy import ndimage

    h, w = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = rgb
    if scale < 1.0:
        from PIL import Image

        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    blob = _choose_blob(skin_mask(small))
    if blob is None:
        logger.debug("no hand-sized skin region in a %dx%d photo", w, h)
        return None

    # step 4: palm centre in the half of the blob away from where it enters the picture
    rows, cols = np.nonzero(blob)
    border = np.ones_like(blob)
    border[BORDER_BAND:-BORDER_BAND, BORDER_BAND:-BORDER_BAND] = False
    entry_r, entry_c = np.nonzero(blob & border)
    dist = ndimage.distance_transform_edt(np.pad(blob, 1))[1:-1, 1:-1]
    if len(entry_r):
        er, ec = float(entry_r.mean()), float(entry_c.mean())
        far = np.hypot(rows - er, cols - ec)
        keep = far >= 0.5 * far.max()
        rows_k, cols_k = rows[keep], cols[keep]
    else:  # the whole hand is inside the picture
        rows_k, cols_k = rows, cols
    i = int(np.argmax(dist[rows_k, cols_k]))
    pr, pc = int(rows_k[i]), int(cols_k[i])
    radius = float(dist[pr, pc])

    # step 5: blob pixels within reach of the palm, and not past the wrist, bound the hand
    near = np.hypot(rows - pr, cols - pc) <= HAND_REACH * radius
    if len(entry_r):
        ur, uc = pr - er, pc - ec  # direction from the arm's entry point to the palm
        norm = float(np.hypot(ur, uc)) or 1.0
        along = ((rows - pr) * ur + (cols - pc) * uc) / norm
        near &= along >= -WRIST * radius
    top, bottom = rows[near].min(), rows[near].max() + 1
    left, right = cols[near].min(), cols[near].max() + 1
    side = max(bottom - top, right - left) * (1.0 + MARGIN)
    cy, cx = (top + bottom) / 2.0, (left + right) / 2.0
    inv = 1.0 / scale
    full = round(side * inv)
    left = round(cx * inv - full / 2.0)
    top = round(cy * inv - full / 2.0)
    box = HandBox(left=left, top=top, right=left + full, bottom=top + full,
                  palm=(round(pr * inv), round(pc * inv)), palm_radius=radius * inv)
    logger.debug("hand box %s in a %dx%d photo", box, w, h)
    return box


def hand_mask_in_box(rgb: npt.NDArray[np.uint8], box: HandBox) -> npt.NDArray[np.bool_]:
    """The skin mask inside ``box``, as a 28x28 boolean image aligned with the 28x28 crop."""
    from PIL import Image

    from asl_recognition.photo.normalize import cut_square

    square = cut_square(rgb, left=box.left, top=box.top, side=box.side)
    side = 3 * IMAGE_SHAPE[0]
    small = np.asarray(Image.fromarray(square).resize((side, side), Image.Resampling.BOX))
    votes = skin_mask(small).reshape(IMAGE_SHAPE[0], 3, IMAGE_SHAPE[1], 3).mean(axis=(1, 3))
    return np.asarray(votes > 0.5, dtype=bool)
