"""Find the hand in a colour photo by its skin colour (the fallback of the learned detector).

:func:`find_skin_hand` is what :func:`asl_recognition.photo.localize.find_hand` falls back on
when the learned hand models are not installed or find no hand. Only NumPy, SciPy,
scikit-image's shipped face cascade and the decoded pixels are used. Steps (each is justified
in ``docs/photos.md``), at ``WORK_SIDE`` pixels on the long side:

0. **Colour cast and exposure**: the steps below run on the photo as taken and again on the
   photo white-balanced by grey-world and brightened if underexposed
   (:mod:`asl_recognition.photo.colour`): tungsten light or a failed camera white balance
   shifts skin and walls in chroma, and underexposure shrinks chroma, so that the hand leaves
   the skin range (wholly, or its shaded parts, leaving fragments) or a wall enters it. The
   balanced search wins only if it finds the only hand or one with a larger palm (step 3's
   inscribed circle): a cast cuts the hand into fragments, so the larger palm is the more
   complete hand; grey-world, wrong on a scene dominated by one colour (a yellow wall), then
   usually finds a smaller hand or none, and the photo as taken is kept. The box records the
   correction it was found under (``HandBox.gains``).

1. **Skin mask** in YCbCr chroma: a pixel is skin when ``Cr`` and ``Cb`` lie in the range that
   Chai & Ngan (1999) found to hold skin of every tone (luma is ignored, so lighting matters
   little). Very dark and blown-out pixels are excluded (their chroma is noise). Frontal faces
   (:mod:`asl_recognition.photo.faces`) and the neck below them are removed from the mask: a
   face is the largest skin region next to a signing hand. A 3x3 opening removes speckle.
2. **Blob choice**: a thin band of skin colour running along a side (a wooden window frame, a
   shelf edge) is cut out of the mask where it is thin, so that a hand whose fingertips touch
   it is kept and the band is not taken for the arm (skin crossing the band, an arm, is kept).
   Among connected components, those hugging the image border along more than half a side
   are dropped; the largest remaining component is the hand (with its arm). Then the photo's
   own colours: two Gaussians are fitted to the blob's chroma, and when they are clearly two
   colours (a pinkish wall welded to the hand), the redder one is kept. Only then a closing
   fills small holes.
3. **Palm centre**: the arm enters the picture through the border (the thickest crossing), so
   the hand is the far end of the blob *along the arm*: geodesic distance inside the blob,
   not straight-line distance, so that a long or bent forearm cannot pass for the far end.
   The palm lies within ``PALM_DEPTH`` forearm half-widths of that far end, on the blob's body
   (fingers, thinner than ``FINGER_CUT`` forearm half-widths, and whatever hangs on them, are
   excluded). It is the centre of the thickest part there: the maximum of the Euclidean
   distance transform (the largest inscribed circle). Its radius ``r`` measures the hand's
   size independently of which fingers are extended; a hand seen edge-on is thinner than its
   arm, so the hand's size is ``max(r, forearm half-width)``.
4. **Hand box**: the blob pixels within ``HAND_REACH`` sizes of the palm centre and at most
   ``WRIST`` sizes back along the arm bound the hand; the box is made square, with a small
   margin, as in Sign MNIST.

>>> import numpy as np
>>> photo = np.full((100, 100, 3), (60, 90, 160), np.uint8)    # a blue wall
>>> photo[30:70, 35:65] = (205, 150, 120)                      # a hand wholly in the picture
>>> box = find_skin_hand(photo)
>>> box.top <= 30 and box.bottom >= 70 and box.left <= 35 and box.right >= 65
True
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from asl_recognition.photo.box import MARGIN, HandBox, downscaled
from asl_recognition.photo.colour import LUMA_WEIGHTS, NEUTRAL, apply_gains, normalising_gains
from asl_recognition.photo.faces import FaceBox, face_boxes, face_exclusion_mask

__all__ = ["HAND_REACH", "WORK_SIDE", "find_skin_hand", "skin_mask"]

logger = logging.getLogger(__name__)

#: Skin chroma ranges (Chai & Ngan 1999, "Face segmentation using skin-color map").
CR_RANGE = (133, 173)
CB_RANGE = (77, 127)
#: Luma outside this range carries no usable chroma (sensor noise or clipping).
LUMA_RANGE = (30, 250)
#: Hand extent around the palm centre, in hand sizes (the palm radius r, or the forearm
#: half-width if larger): palm half-width r, palm length ~2r, fingers ~2r more; 3.2 r reaches
#: the fingertips of a hand seen from the front.
HAND_REACH = 3.2
#: The wrist lies about this many hand sizes from the palm centre back along the arm; Sign
#: MNIST crops show the hand and only the start of the wrist.
WRIST = 1.6
#: The palm centre lies within this many forearm half-widths (measured where the arm enters
#: the picture), along the arm, of the arm's far end: fingertip to palm centre is ~13 cm, a
#: forearm half-width 3-4 cm.
PALM_DEPTH = 4.5
#: Fingers are narrower than this many forearm half-widths (finger half-width ~0.9 cm, forearm
#: half-width ~3.2 cm), a palm, even seen edge-on (half-thickness ~1.5 cm), is not.
FINGER_CUT = 0.4
#: Inscribed radii within this many pixels (working size) of the largest count as equal: the
#: palm centre is the middle of that plateau.
PLATEAU = 1.0
#: Working resolution (longest side) for segmentation: enough for a hand, cheap for any photo.
WORK_SIDE = 160
#: Pixels this close to the edge (working resolution) count as touching it (the clean-up
#: opening erodes a blob's last pixel or two at the edge).
BORDER_BAND = 3
#: Smallest hand accepted, as a fraction of the working image area.
MIN_AREA_FRACTION = 0.01
#: A component touching one side along more than this fraction of it is a frame, shelf,
#: table or wall band, not an arm (an arm crosses the border, it does not run along it).
HUG_FRACTION = 0.5
#: Skin near a side along more than this fraction of it may be a frame band (a wooden frame
#: broken by a window pane covers less than half the side); an arm alone rarely does.
BAND_CONTACT = 1 / 3
#: A band may start this far (fraction of the picture) inside the side: frames sit behind a
#: dark gap, a window's edge or a strip of ceiling.
BAND_OFFSET = 0.05
#: A band's thickness is read per column as the running median of its depth over this
#: fraction of the side: a hand or arm welded to the band is narrower than half of it.
BAND_WINDOW = 0.35
#: Bands thicker than this fraction of the picture are not stripped: frames and shelf edges are
#: thin, while a deep median means an arm or a skin-coloured wall (left to the blob choice).
BAND_MAX_DEPTH = 0.25
#: Two chroma clusters in the blob closer than this (Mahalanobis distance between their means)
#: are one skin colour with shading; farther apart, a wall or wood joined the hand. Two
#: Gaussians fitted to one Gaussian come out ~2 apart; 3 means no overlap at the midpoint.
SEPARATION = 3.0
#: Each colour must hold at least this share of the blob to count as a second object.
MIN_SHARE = 0.1
#: Standard-deviation floor of a fitted chroma cluster (0..255 scale): chroma is read in whole
#: units, and a flat wall's noise can round to a single value.
MIN_CHROMA_STD = 1.0
#: Most EM iterations for the two-colour fit (it usually converges in about ten).
EM_ITERATIONS = 25
#: EM stops once no mean moves by more than this (chroma units): far below what matters.
EM_TOLERANCE = 0.05


FloatImage = npt.NDArray[np.float32]
BoolImage = npt.NDArray[np.bool_]


def _ycc(rgb: npt.NDArray[np.uint8]) -> tuple[FloatImage, FloatImage, FloatImage]:
    """Luma, Cr and Cb (ITU-R BT.601, as JPEG's YCbCr) of an RGB image, float32."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    wr, wg, wb = LUMA_WEIGHTS
    y = wr * r + wg * g + wb * b
    return y, 128.0 + 0.713 * (r - y), 128.0 + 0.564 * (b - y)


def _clean(mask: BoolImage) -> BoolImage:
    """A 3x3 opening: drops speckle (single pixels, one-pixel lines) and keeps fingers."""
    from scipy import ndimage

    if min(mask.shape) >= 9:
        mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    return np.asarray(mask, dtype=bool)


def skin_mask(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Step 1: boolean mask of skin-coloured pixels of an ``(H, W, 3)`` RGB image (opened).

    >>> import numpy as np
    >>> skin_mask(np.array([[[200, 140, 110], [200, 200, 205]]], dtype=np.uint8)).tolist()
    [[True, False]]
    """
    return _clean(_in_skin_box(*_ycc(rgb)))


def _in_skin_box(y: FloatImage, cr: FloatImage, cb: FloatImage) -> BoolImage:
    """The fixed skin test of step 1, uncleaned."""
    mask = (
        (cr >= CR_RANGE[0]) & (cr <= CR_RANGE[1])
        & (cb >= CB_RANGE[0]) & (cb <= CB_RANGE[1])
        & (y >= LUMA_RANGE[0]) & (y <= LUMA_RANGE[1])
    )
    return np.asarray(mask, dtype=bool)


def _strip_bands(mask: BoolImage) -> BoolImage:
    """Remove thin bands running along a side (frames, shelves), keeping what they touch.

    For each side, per column, the first run of skin that starts within BAND_OFFSET of the
    side is found (a frame often sits behind a dark gap or a window edge, not on the side
    itself). Where such runs exist along more than BAND_CONTACT of the side, the band's
    thickness is the running median of their depth over BAND_WINDOW of the side (a hand or arm
    welded to the band is narrower than half the window, so it does not count), and where it is
    thin (at most BAND_MAX_DEPTH of the picture) the pixels within it are removed. A hand whose
    fingertips touch a frame is thus cut free instead of being discarded with the frame, or the
    frame being taken for the arm.
    """
    from scipy import ndimage

    out = mask.copy()
    for k in range(4):  # top, left, bottom, right, each seen as the top of a rotated view
        view = np.rot90(out, k)  # a view: writing to it writes to ``out``
        h, w = view.shape
        offset = max(BORDER_BAND, round(BAND_OFFSET * h))
        near = view[:offset]
        touching = near.any(axis=0)
        if touching.mean() <= BAND_CONTACT:
            continue
        start = np.argmax(near, axis=0)
        below = np.arange(h)[:, None] >= start[None, :]
        gaps = below & ~view
        depth = np.where(touching, np.where(gaps.any(axis=0), np.argmax(gaps, axis=0), h), 0)
        window = max(3, int(BAND_WINDOW * w) | 1)
        band = ndimage.median_filter(depth, size=window, mode="nearest")
        band[band > BAND_MAX_DEPTH * h] = 0
        band[depth > 2 * band] = 0  # skin going on far past the band crosses it: an arm
        rows = np.arange(h)[:, None]
        view[(rows <= band[None, :]) & (band[None, :] > 0)] = False  # +1 row: the soft edge
    return out


def _choose_blob(mask: BoolImage) -> BoolImage | None:
    """Step 2: the largest component that does not hug the border; None if none is big enough."""
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
        if max(along) > HUG_FRACTION:
            continue
        best, best_area = k, int(areas[k])
    return None if best == 0 else np.asarray(labels == best, dtype=bool)


def _two_colours(x: npt.NDArray[np.float64], count: npt.NDArray[np.float64]) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Fit two Gaussians to CrCb samples ``x`` (n, 2) seen ``count`` times each, by EM.

    Returns weights, means, covariances and the separation of the two (Mahalanobis distance
    between the means under the mean covariance). Started from a split at the median Cr, so
    the result depends on the set of colours only (not on where the pixels are: mirroring a
    photo cannot change it).
    """
    order = np.argsort(x[:, 0], kind="stable")
    cum = np.cumsum(count[order])
    high = np.zeros(len(x), bool)
    high[order[cum > cum[-1] / 2]] = True
    if high.all() or not high.any():
        high = x[:, 0] >= x[:, 0].mean()
    post = np.stack([~high, high], axis=1).astype(np.float64)
    floor = np.eye(2) * MIN_CHROMA_STD**2
    means = np.zeros((2, 2))
    covs = np.zeros((2, 2, 2))
    weights = np.zeros(2)
    for _ in range(EM_ITERATIONS):
        wpost = post * count[:, None]
        nk = wpost.sum(axis=0) + 1e-9
        weights = nk / nk.sum()
        previous, means = means, (wpost.T @ x) / nk[:, None]
        if np.abs(means - previous).max() < EM_TOLERANCE:
            break
        loglik = np.empty((len(x), 2))
        for k in range(2):
            d = x - means[k]
            covs[k] = (wpost[:, k, None] * d).T @ d / nk[k] + floor
            loglik[:, k] = np.log(weights[k] + 1e-12) + _log_gauss(d, covs[k])
        loglik -= loglik.max(axis=1, keepdims=True)
        post = np.exp(loglik)
        post /= post.sum(axis=1, keepdims=True)
    diff = means[1] - means[0]
    separation = float(np.sqrt(diff @ np.linalg.inv((covs[0] + covs[1]) / 2) @ diff))
    return weights, means, covs, separation


def _log_gauss(d: npt.NDArray[np.float64], cov: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Log density (up to a constant) of offsets ``d`` (..., 2) under a 2-D Gaussian ``cov``."""
    a, b, c = cov[0, 0], cov[0, 1], cov[1, 1]
    det = a * c - b * b
    m2 = (c * d[..., 0] ** 2 - 2 * b * d[..., 0] * d[..., 1] + a * d[..., 1] ** 2) / det
    return np.asarray(-0.5 * m2 - 0.5 * np.log(det), dtype=np.float64)


def _drop_background_colour(ycc: tuple[FloatImage, FloatImage, FloatImage], mask: BoolImage,
                            blob: BoolImage) -> BoolImage:
    """Cut a near-skin background (a pinkish wall) out of the blob by the photo's own colours.

    The fixed chroma box holds every skin tone, so a wall just inside it joins the hand; under
    one light, the wall and the hand are then two distinct colours within the blob. Two
    Gaussians are fitted to the blob's CbCr; when they are clearly distinct (SEPARATION) and
    each holds a real share of the blob, the one with the higher Cr (redder: blood, the
    defining trait of skin) is the hand, and the pixels more likely from the other are dropped.
    One skin colour with shading does not split that clearly, and the blob is returned as is.
    """
    from scipy import ndimage

    _, cr, cb = ycc
    sel = blob & mask
    if sel.sum() < 50:
        return blob
    # EM on the histogram of colours (1/255 bins): fast, and independent of pixel positions
    key = np.clip(np.rint(cr[sel]), 0, 255).astype(np.int64) * 256 + np.clip(np.rint(cb[sel]), 0, 255).astype(np.int64)
    hist = np.bincount(key, minlength=256 * 256)
    seen = np.flatnonzero(hist)
    colours = np.stack([seen // 256, seen % 256], axis=1).astype(np.float64)
    weights, means, covs, separation = _two_colours(colours, hist[seen].astype(np.float64))
    if separation < SEPARATION or weights.min() < MIN_SHARE:
        return blob
    hand = int(np.argmax(means[:, 0]))
    pix = np.stack([cr, cb], axis=-1).astype(np.float64)
    score = [np.log(weights[k]) + _log_gauss(pix - means[k], covs[k]) for k in range(2)]
    kept = _clean(np.asarray(mask & (score[hand] >= score[1 - hand]), dtype=bool)) & blob
    labels, n = ndimage.label(kept)
    if n == 0:
        return blob
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    best = labels == int(np.argmax(areas))
    if best.sum() < MIN_AREA_FRACTION * blob.size:
        return blob
    return np.asarray(best, dtype=bool)


def _geodesic(blob: BoolImage, sources: BoolImage) -> npt.NDArray[np.float64]:
    """Shortest-path length inside ``blob`` (8-connected) from ``sources``; inf outside/unreached."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    h, w = blob.shape
    idx = np.full(blob.shape, -1, np.int64)
    n = int(blob.sum())
    idx[blob] = np.arange(n)
    ii, jj, ww = [], [], []
    for dr, dc, step in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, np.sqrt(2.0)), (1, -1, np.sqrt(2.0))):
        r0, r1 = slice(0, h - dr), slice(dr, h)
        c0, c1 = (slice(0, w - dc), slice(dc, w)) if dc >= 0 else (slice(-dc, w), slice(0, w + dc))
        both = blob[r0, c0] & blob[r1, c1]
        ii.append(idx[r0, c0][both])
        jj.append(idx[r1, c1][both])
        ww.append(np.full(int(both.sum()), step))
    graph = coo_matrix((np.concatenate(ww), (np.concatenate(ii), np.concatenate(jj))), shape=(n, n)).tocsr()
    dist = dijkstra(graph, directed=False, indices=idx[sources & blob], min_only=True)
    out = np.full(blob.shape, np.inf)
    out[blob] = dist
    return out


def _body(blob: BoolImage, dist: FloatImage, entry: BoolImage, radius: float) -> BoolImage:
    """The part of ``blob`` connected to ``entry`` after an opening by a disc of ``radius``.

    ``dist`` is the blob's distance transform; the opening is computed with it and one more
    distance transform (exact for a disc, and cheap whatever the radius).
    """
    from scipy import ndimage

    if radius < 1:
        return blob
    inner = dist > radius
    if not inner.any():
        return np.zeros_like(blob)
    opened = blob & (ndimage.distance_transform_edt(~inner) <= radius)
    labels, _ = ndimage.label(opened)
    touched = np.unique(labels[entry & opened])
    return np.asarray(np.isin(labels, touched[touched > 0]), dtype=bool)


def _segment(small: npt.NDArray[np.uint8], faces: Callable[[], list[FaceBox]]) -> BoolImage | None:
    """Steps 1-2 at the working size: the hand-and-arm blob (closed), or None.

    ``faces`` returns the photo's face boxes (asked only when there is enough skin).
    """
    from scipy import ndimage

    ycc = _ycc(small)
    mask = _in_skin_box(*ycc)
    if mask.mean() >= MIN_AREA_FRACTION:  # enough skin for a hand: faces are rivals to rule out
        mask &= ~face_exclusion_mask(mask.shape, faces())
    blob = _choose_blob(_strip_bands(_clean(mask)))
    if blob is None:
        return None
    blob = _drop_background_colour(ycc, mask, blob)
    # holes (nails, shadows between fingers) filled only now, so nothing nearby gets welded on
    blob = ndimage.binary_closing(blob, structure=np.ones((5, 5), bool)) | blob
    # the outermost pixels are unreliable (JPEG edges, a dark frame line, the clean-up's
    # erosion at the edge): continue the blob straight out to the edge from inside instead,
    # so that an arm crossing the border has its true width there
    b = BORDER_BAND
    if min(blob.shape) > 4 * b:
        blob = np.pad(blob[b:-b, b:-b], b, mode="edge")
    return np.asarray(blob, dtype=bool)


def find_skin_hand(rgb: npt.NDArray[np.uint8]) -> HandBox | None:
    """The square hand box of an ``(H, W, 3)`` uint8 RGB photo by steps 0-4, or None if no hand.

    The box is in the coordinates of ``rgb`` and may extend past its edges (the caller pads).
    """
    h, w = rgb.shape[:2]
    small, scale = downscaled(rgb, WORK_SIDE)
    faces = functools.cache(lambda: face_boxes(small))  # found once, for both searches
    box = _box_in(small, scale, NEUTRAL, faces)
    # step 0: a colour cast or underexposure may have moved (part of) the skin out of the range
    gains = normalising_gains(small)
    if gains != NEUTRAL:
        box = _more_complete(box, _box_in(apply_gains(small, gains), scale, gains, faces))
    if box is None:
        logger.debug("no hand-sized skin region in a %dx%d photo", w, h)
    else:
        logger.debug("hand box %s in a %dx%d photo", box, w, h)
    return box


def _more_complete(as_taken: HandBox | None, balanced: HandBox | None) -> HandBox | None:
    """Step 0's choice: the normalised photo's box only if it is the only one or its palm is
    larger (a cast leaves fragments of a hand in the skin range; ties keep the photo as taken).
    """
    if balanced is None:
        return as_taken
    if as_taken is None or balanced.palm_radius > as_taken.palm_radius:
        return balanced
    return as_taken


def _box_in(
    small: npt.NDArray[np.uint8], scale: float, gains: tuple[float, float, float],
    faces: Callable[[], list[FaceBox]],
) -> HandBox | None:
    """Steps 1-4 on the working-size image ``small`` (``scale`` times the photo's size)."""
    from scipy import ndimage

    blob = _segment(small, faces)
    if blob is None:
        return None

    # step 3: palm centre near the far end of the arm, along the arm (geodesic distance)
    rows, cols = np.nonzero(blob)
    border = np.ones_like(blob)
    border[BORDER_BAND:-BORDER_BAND, BORDER_BAND:-BORDER_BAND] = False
    dist = ndimage.distance_transform_edt(np.pad(blob, 1))[1:-1, 1:-1]
    entry_labels, n_entries = ndimage.label(blob & border, structure=np.ones((3, 3), bool))
    along_arm: npt.NDArray[np.float64] | None = None
    arm_half = 0.0
    if n_entries:
        # the arm is the thickest crossing: the largest circle inscribed in the blob where it
        # crosses the border, the border itself not counting as an edge (a frame remnant or a
        # fingertip touching the border is thin)
        across = ndimage.distance_transform_edt(blob)
        crossing = entry_labels > 0
        thickest = np.zeros(n_entries + 1)
        np.maximum.at(thickest, entry_labels[crossing], across[crossing])
        entry = entry_labels == int(np.argmax(thickest))
        geo = _geodesic(blob, entry)
        along_arm = np.where(np.isfinite(geo), geo, -1.0)[rows, cols]
        # the arm's half-width: the largest inscribed circle that still reaches back to the
        # crossing (its radius at least its distance along the arm from it), i.e. the width of
        # the arm just inside the picture, however narrow or slanted the crossing itself is
        reaching = (along_arm >= 0) & (dist[rows, cols] >= along_arm)
        arm_half = float(dist[rows, cols][reaching].max()) if reaching.any() else 0.0
        if arm_half < FINGER_CUT * float(dist.max()):  # thinner than a finger: no arm enters
            along_arm, arm_half = None, 0.0
    if along_arm is not None:
        # the body of hand and arm, without fingers (thinner than FINGER_CUT arm half-widths):
        # what lies beyond a finger (a frame the fingertips touch) cannot hold the palm
        body = _body(blob, dist, entry, FINGER_CUT * arm_half)[rows, cols] & (along_arm >= 0)
        if not body.any():
            body = along_arm >= 0
        candidates = np.flatnonzero(body & (along_arm >= along_arm[body].max() - PALM_DEPTH * arm_half))
    else:  # the whole hand is inside the picture
        candidates = np.arange(len(rows))
    # the palm is the thickest part; where it is a plateau (a hand seen edge-on is a strip of
    # constant thickness), its centre, not whichever end comes first
    dk = dist[rows[candidates], cols[candidates]]
    plateau = candidates[dk >= dk.max() - PLATEAU]
    palm = int(plateau[np.argmin(np.hypot(rows[plateau] - rows[plateau].mean(), cols[plateau] - cols[plateau].mean()))])
    pr, pc = int(rows[palm]), int(cols[palm])
    radius = float(dist[pr, pc])
    reach = max(radius, arm_half)  # an edge-on palm is thin: the arm still tells the hand's size

    # step 4: blob pixels within reach of the palm, and not past the wrist, bound the hand
    near = np.hypot(rows - pr, cols - pc) <= HAND_REACH * reach
    if along_arm is not None:
        near &= along_arm >= along_arm[palm] - WRIST * reach
    top, bottom = rows[near].min(), rows[near].max() + 1
    left, right = cols[near].min(), cols[near].max() + 1
    side = max(bottom - top, right - left) * (1.0 + MARGIN)
    cy, cx = (top + bottom) / 2.0, (left + right) / 2.0
    inv = 1.0 / scale
    full = round(side * inv)
    left = round(cx * inv - full / 2.0)
    top = round(cy * inv - full / 2.0)
    return HandBox(left=left, top=top, right=left + full, bottom=top + full,
                   palm=(round(pr * inv), round(pc * inv)), palm_radius=radius * inv, gains=gains)
