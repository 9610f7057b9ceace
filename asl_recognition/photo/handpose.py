"""Learned hand detection: MediaPipe's palm detector and hand landmarks, run with LiteRT.

A photo's hand is found in three steps, as MediaPipe Hands does for a single image (Zhang et
al. 2020, "MediaPipe Hands: On-device Real-time Hand Tracking"; the graph constants below are
those of its ``palm_detection_cpu`` and ``hand_landmark`` subgraphs):

1. **Palm detection** (BlazePalm, 192x192 input, the photo letterboxed into it): an SSD over
   2016 anchors gives palm boxes with 7 keypoints (wrist centre, knuckles); scores are
   sigmoids, kept from 0.5, merged by weighted non-maximum suppression (IoU 0.3). A palm, not
   a hand, is detected because palms are rigid and nearly square whatever the fingers do.
2. **Hand region**: the palm box rotated so that wrist -> middle knuckle points up, moved
   half its height towards the fingers and enlarged 2.6 times: the whole hand, upright.
3. **Landmarks**: the 224x224 upright crop of that region gives 21 hand landmarks (wrist,
   four joints per finger), a hand-presence score and the hand side. The region is then
   recomputed from the landmarks (MediaPipe's tracking rule) and the landmarks once more, which
   centres a hand the palm box only roughly framed.

The models (:mod:`asl_recognition.photo.hand_models`) run on LiteRT (``ai-edge-litert``), whose
interpreter is not thread-safe: each model is guarded by a lock (the scoring service may call
from several threads). The cost per photo is measured in ``docs/photos.md``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import hashlib
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition import progress
from asl_recognition._validation import Interval, check_param
from asl_recognition.data.arrays import IMAGE_SHAPE
from asl_recognition.errors import InvalidParameterError
from asl_recognition.photo.hand_models import LANDMARK_MODEL, PALM_MODEL, hand_model_dir

__all__ = [
    "ATTEMPTS",
    "MIN_PALM_SCORE",
    "MIN_PRESENCE",
    "HandPose",
    "detect_hand_pose",
    "hand_detector_available",
    "set_threads",
]

logger = logging.getLogger(__name__)

PALM_INPUT = 192
LANDMARK_INPUT = 224
#: Palm detections below this sigmoid score are dropped (MediaPipe's ``min_score_thresh``).
MIN_PALM_SCORE = 0.5
#: Weighted non-maximum suppression merges palm boxes overlapping more than this (IoU).
NMS_IOU = 0.3
#: The landmark model's hand-presence score below which its landmarks are not a hand.
MIN_PRESENCE = 0.5
#: Palm box -> hand region: enlargement and shift towards the fingers (in box heights).
PALM_TO_HAND_SCALE = 2.6
PALM_TO_HAND_SHIFT = 0.5
#: Landmarks -> hand region (MediaPipe's tracking rule): enlargement and shift.
LANDMARKS_TO_HAND_SCALE = 2.0
LANDMARKS_TO_HAND_SHIFT = 0.1
#: Landmarks that bound the hand region in MediaPipe's tracking rule (wrist, bases and first
#: joints of the fingers: stable whatever the fingertips do).
_REGION_LANDMARKS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]
WRIST, MIDDLE_KNUCKLE = 0, 9
#: Connected landmarks (the hand's skeleton), as MediaPipe draws it.
SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip
#: The palm polygon: wrist and the four knuckles.
PALM_POLYGON = (0, 1, 5, 9, 13, 17)

FloatArray = npt.NDArray[np.float64]
#: Crops whose landmarks are remembered, first in first out (keyed by content; ~1.5 KB each):
#: training reads the fit part, then the whole training file, and a comparison reads the test
#: file once per model.
CROP_CACHE_SIZE = 100_000
_CROP_CACHE: collections.OrderedDict[bytes, _Reading] = collections.OrderedDict()
_CROP_CACHE_LOCK = threading.Lock()
#: Batches of at least this many crops report their progress (with an ETA) while being read.
PROGRESS_MIN_CROPS = 1000
#: A model: input batch -> outputs by tensor name (a :class:`_Model`, or a stand-in in tests).
Runner = Callable[[npt.NDArray[np.float32]], dict[str, npt.NDArray[np.float32]]]


@dataclasses.dataclass(frozen=True)
class HandPose:
    """A hand found by the learned detector.

    Attributes:
        landmarks: ``(21, 2)`` x, y of MediaPipe's 21 hand landmarks, in photo pixels (may lie
            slightly outside the photo).
        presence: the landmark model's hand-presence score (0..1).
        palm_score: the palm detector's score (0..1).
        side_score: the landmark model's hand-side output (0..1). Sign Language MNIST's
            hands score high: a low score is the other hand
            (:func:`~asl_recognition.photo.mirror.is_other_side`).
        depth: ``(21,)`` relative depth of each landmark (towards the camera is negative), in
            the same pixel units as ``landmarks``, the wrist near 0 (MediaPipe's ``z``).
        world: ``(21, 3)`` the landmarks in metres, centred on the hand, axes as the camera's
            (x right, y down, z away): the hand's 3-D shape whatever its size in the photo.
        attempt: which detection attempt found the hand (one of :data:`ATTEMPTS`).
    """

    landmarks: FloatArray
    presence: float
    palm_score: float
    side_score: float
    depth: FloatArray | None = None
    world: FloatArray | None = None
    attempt: str = "photo"

    @property
    def points3d(self) -> FloatArray:
        """``(21, 3)``: x, y in photo pixels and :attr:`depth` (zeros when unknown)."""
        depth = np.zeros(len(self.landmarks)) if self.depth is None else self.depth
        return np.column_stack([self.landmarks, depth])

    @property
    def palm_length(self) -> float:
        """Wrist to middle-finger knuckle, in pixels: the hand's size whatever the fingers do."""
        return float(np.hypot(*(self.landmarks[MIDDLE_KNUCKLE] - self.landmarks[WRIST])))


@dataclasses.dataclass(frozen=True)
class _Region:
    """A rotated square in photo pixels: centre, side, rotation (radians, counter-clockwise)."""

    cx: float
    cy: float
    side: float
    rotation: float


class _Model:
    """One LiteRT interpreter (XNNPACK, ``threads`` threads) and the lock that serialises its use."""

    def __init__(self, path: str, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=path, num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._lock = threading.Lock()

    def __call__(self, x: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        with self._lock:
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            return {name: self._interpreter.get_tensor(i) for name, i in self._outputs.items()}  # (copies)


#: Threads of each hand-model interpreter (:func:`set_threads`).
_THREADS = 1


def set_threads(threads: int) -> None:
    """Threads each hand model may use inside one invocation (default 1).

    One thread suits a server (its worker processes already keep every core busy) and
    batches; more shorten a single photo's detection on an otherwise idle machine. Applies from
    the next detection (interpreters are kept per thread count).

    Raises:
        InvalidParameterError: ``threads`` is not a positive integer.
    """
    global _THREADS
    check_param("threads", threads, Interval(int, 1, None))
    _THREADS = threads


@functools.cache
def _load(palm: str, landmark: str, threads: int = 1) -> tuple[_Model, _Model]:
    return _Model(palm, threads), _Model(landmark, threads)


@functools.cache
def _say_missing() -> None:
    logger.warning(
        "no hand models (not installed, or $ASL_HAND_MODELS=off): photos use the skin-colour hand localiser "
        "(run 'asl-recognition install-hand-models' for the learned detector)"
    )


def _models() -> tuple[_Model, _Model] | None:
    """The loaded models, or None; the files are looked up on each call (``$ASL_HAND_MODELS``
    may change), the interpreters loaded once per pair of files."""
    paths = hand_model_dir()
    if paths is None:
        _say_missing()
        return None
    return _load(str(paths[PALM_MODEL]), str(paths[LANDMARK_MODEL]), _THREADS)


def hand_detector_available() -> bool:
    """True when the hand models are installed (see :mod:`asl_recognition.photo.hand_models`)."""
    return _models() is not None


@functools.cache
def _anchors() -> FloatArray:
    """BlazePalm's 2016 SSD anchor centres (x, y in 0..1): 24x24 cells x 2 at stride 8, then
    12x12 cells x 6 for the three stride-16 layers (``SsdAnchorsCalculator``, fixed size 1)."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = math.ceil(PALM_INPUT / stride)
        grid = (np.arange(cells) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out)


def _iou(box: FloatArray, boxes: FloatArray) -> FloatArray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _palms(rgb: npt.NDArray[np.uint8], model: Runner) -> list[tuple[float, FloatArray, FloatArray]]:
    """Palm detections, best first: (score, box x0 y0 x1 y1, keypoints (7, 2)), photo pixels."""
    from PIL import Image

    h, w = rgb.shape[:2]
    side = max(h, w)
    square = np.zeros((side, side, 3), np.uint8)  # letterbox: zero border, as MediaPipe's
    oy, ox = (side - h) // 2, (side - w) // 2
    square[oy : oy + h, ox : ox + w] = rgb
    small = Image.fromarray(square).resize((PALM_INPUT, PALM_INPUT), Image.Resampling.BILINEAR)
    out = model(np.asarray(small, np.float32)[None] / 255.0)
    raw = out["Identity"][0].astype(np.float64) / PALM_INPUT
    logits = np.clip(out["Identity_1"][0, :, 0].astype(np.float64), -100, 100)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= MIN_PALM_SCORE)
    if not keep.size:
        return []
    anchors = _anchors()[keep]
    centre = raw[keep, :2] + anchors
    half = raw[keep, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    points = raw[keep, 4:].reshape(-1, 7, 2) + anchors[:, None, :]
    scores = scores[keep]
    order = np.argsort(-scores)
    boxes, points, scores = boxes[order], points[order], scores[order]
    found = []
    remaining = np.ones(len(scores), bool)
    offset = np.array([ox, oy], np.float64)
    while remaining.any():
        first = int(np.flatnonzero(remaining)[0])
        cluster = remaining & (_iou(boxes[first], boxes) > NMS_IOU)
        cluster[first] = True
        weights = scores[cluster] / scores[cluster].sum()  # weighted NMS: a score-weighted mean
        box = (weights[:, None] * boxes[cluster]).sum(0) * side - np.tile(offset, 2)
        kps = (weights[:, None, None] * points[cluster]).sum(0) * side - offset
        found.append((float(scores[first]), box, kps))
        remaining &= ~cluster
    return found


def _upright(start: FloatArray, end: FloatArray) -> float:
    """Rotation that turns ``start -> end`` to point up (image y grows downwards)."""
    angle = math.pi / 2 - math.atan2(-(end[1] - start[1]), end[0] - start[0])
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _shifted(cx: float, cy: float, side: float, rotation: float, shift: float, scale: float) -> _Region:
    """Move the centre ``shift`` sides towards the region's top, then enlarge it ``scale`` times."""
    return _Region(cx + side * shift * math.sin(rotation), cy - side * shift * math.cos(rotation), side * scale,
                   rotation)  # fmt: skip


def _region_from_palm(box: FloatArray, keypoints: FloatArray) -> _Region:
    rotation = _upright(keypoints[0], keypoints[2])  # wrist centre -> middle-finger knuckle
    side = float(max(box[2] - box[0], box[3] - box[1]))
    cx, cy = float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2
    return _shifted(cx, cy, side, rotation, PALM_TO_HAND_SHIFT, PALM_TO_HAND_SCALE)


def _region_from_landmarks(points: FloatArray) -> _Region:
    rotation = _upright(points[WRIST], points[MIDDLE_KNUCKLE])
    c, s = math.cos(rotation), math.sin(rotation)
    sub = points[_REGION_LANDMARKS]
    mid = sub.mean(0)
    d = sub - mid
    u, v = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]  # in the upright frame
    uc, vc = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    cx, cy = mid[0] + c * uc - s * vc, mid[1] + s * uc + c * vc
    side = float(max(np.ptp(u), np.ptp(v)))
    return _shifted(float(cx), float(cy), side, rotation, LANDMARKS_TO_HAND_SHIFT, LANDMARKS_TO_HAND_SCALE)


def _crop(rgb: npt.NDArray[np.uint8], region: _Region, size: int) -> npt.NDArray[np.uint8]:
    """The ``size`` x ``size`` upright image of ``region`` (bilinear; outside the photo: black)."""
    from PIL import Image

    step = region.side / size
    c, s = math.cos(region.rotation), math.sin(region.rotation)
    h0 = 0.5 * step - region.side / 2  # centre of the first output pixel, region units
    # output pixel (u, v) samples the photo at centre + R @ ((u, v) * step + h0)
    affine = (step * c, -step * s, region.cx + h0 * (c - s), step * s, step * c, region.cy + h0 * (s + c))
    crop = Image.fromarray(rgb).transform((size, size), Image.Transform.AFFINE, affine, Image.Resampling.BILINEAR)
    return np.asarray(crop, dtype=np.uint8)


def _to_photo(uv: FloatArray, region: _Region, size: int) -> FloatArray:
    """Pixel positions in :func:`_crop`'s image (x, y; pixel centres at +0.5) -> photo pixels."""
    c, s = math.cos(region.rotation), math.sin(region.rotation)
    rel = uv / size - 0.5
    x = region.cx + (c * rel[:, 0] - s * rel[:, 1]) * region.side
    y = region.cy + (s * rel[:, 0] + c * rel[:, 1]) * region.side
    return np.stack([x, y], axis=1)


@dataclasses.dataclass(frozen=True)
class _Reading:
    """The landmark model's outputs for one crop (points in that crop's pixels)."""

    points: FloatArray  # (21, 3): x, y, relative depth
    presence: float
    side: float
    world: FloatArray | None  # (21, 3) metres, when the model has that output


def _read_hand(crop: npt.NDArray[np.uint8], model: Runner) -> _Reading:
    """The landmark model on a ``LANDMARK_INPUT``-square RGB crop."""
    out = model(crop.astype(np.float32)[None] / 255.0)
    world = out.get("Identity_3")
    return _Reading(
        points=out["Identity"][0].reshape(21, 3).astype(np.float64),
        presence=float(out["Identity_1"][0, 0]),
        side=float(out["Identity_2"][0, 0]),
        world=None if world is None else world[0].reshape(21, 3).astype(np.float64),
    )


def _landmarks(rgb: npt.NDArray[np.uint8], region: _Region, model: Runner) -> _Reading:
    """The landmark model's reading of the hand in ``region``, points in photo pixels."""
    r = _read_hand(_crop(rgb, region, LANDMARK_INPUT), model)
    xy = _to_photo(r.points[:, :2], region, LANDMARK_INPUT)
    depth = r.points[:, 2] * (region.side / LANDMARK_INPUT)
    world = r.world
    if world is not None:  # the model saw the region upright: turn its 3-D points back, as xy
        c, s = math.cos(region.rotation), math.sin(region.rotation)
        world = np.column_stack([c * world[:, 0] - s * world[:, 1], s * world[:, 0] + c * world[:, 1], world[:, 2]])
    return dataclasses.replace(r, points=np.column_stack([xy, depth]), world=world)


def _pose(reading: _Reading, palm_score: float, attempt: str) -> HandPose:
    return HandPose(landmarks=reading.points[:, :2], presence=reading.presence, palm_score=palm_score,
                    side_score=reading.side, depth=reading.points[:, 2], world=reading.world,
                    attempt=attempt)  # fmt: skip


#: The detection attempts, in order; the first that finds a hand wins:
#: ``photo``: MediaPipe's single-image graph on the photo as it is;
#: ``padded``: the photo centred in a frame :data:`PAD_FACTOR` times its size (black border), so
#: that a hand filling the frame (a tight crop) shows the palm detector the context it needs;
#: ``whole``: the landmark model reads the whole (square) photo as a hand crop, as it reads a
#: tracked hand region: a crop that is all hand has no palm in view to detect;
#: ``zoom``: the palm detector on overlapping windows of half the photo's size, for hands too
#: small in a large frame for the detector's 192x192 input.
ATTEMPTS = ("photo", "padded", "whole", "zoom")
PAD_FACTOR = 2.0
#: Zoom windows: ``ZOOM_GRID`` x ``ZOOM_GRID`` windows, each ``ZOOM_WINDOW`` of the photo's side.
ZOOM_GRID = 3
ZOOM_WINDOW = 0.5


def _hand_from_palms(rgb: npt.NDArray[np.uint8], models: tuple[Runner, Runner], attempt: str,
                     offset: tuple[float, float] = (0.0, 0.0)) -> HandPose | None:  # fmt: skip
    """The palm detector, then the landmarks twice (MediaPipe's graph), on ``rgb``; points are
    shifted by ``offset`` (x, y) into the caller's photo."""
    palm_model, landmark_model = models
    palms = _palms(np.ascontiguousarray(rgb), palm_model)
    if not palms:
        return None
    score, box, keypoints = palms[0]
    reading = _landmarks(rgb, _region_from_palm(box, keypoints), landmark_model)
    if reading.presence >= MIN_PRESENCE:  # once more, from the landmarks (MediaPipe's tracking rule)
        reading = _landmarks(rgb, _region_from_landmarks(reading.points[:, :2]), landmark_model)
    if reading.presence < MIN_PRESENCE:
        logger.debug("palm found (score %.2f) but no hand landmarks (presence %.2f)", score, reading.presence)
        return None
    shift = np.array([offset[0], offset[1], 0.0])
    return _pose(dataclasses.replace(reading, points=reading.points + shift), score, attempt)


def _padded(rgb: npt.NDArray[np.uint8], models: tuple[Runner, Runner]) -> HandPose | None:
    h, w = rgb.shape[:2]
    ph, pw = round(h * PAD_FACTOR), round(w * PAD_FACTOR)
    oy, ox = (ph - h) // 2, (pw - w) // 2
    frame = np.zeros((ph, pw, 3), np.uint8)
    frame[oy : oy + h, ox : ox + w] = rgb
    return _hand_from_palms(frame, models, "padded", offset=(-ox, -oy))


def _whole(rgb: npt.NDArray[np.uint8], models: tuple[Runner, Runner]) -> HandPose | None:
    h, w = rgb.shape[:2]
    region = _Region(cx=w / 2, cy=h / 2, side=float(max(h, w)), rotation=0.0)
    reading = _landmarks(rgb, region, models[1])
    if reading.presence < MIN_PRESENCE:
        return None
    refined = _landmarks(rgb, _region_from_landmarks(reading.points[:, :2]), models[1])
    return _pose(refined if refined.presence >= reading.presence else reading, 0.0, "whole")


def _confidence(pose: HandPose) -> float:
    return pose.palm_score * pose.presence


def _zoom(rgb: npt.NDArray[np.uint8], models: tuple[Runner, Runner]) -> HandPose | None:
    h, w = rgb.shape[:2]
    wh, ww = max(1, round(h * ZOOM_WINDOW)), max(1, round(w * ZOOM_WINDOW))
    best: HandPose | None = None
    for top in np.linspace(0, h - wh, ZOOM_GRID).round().astype(int):
        for left in np.linspace(0, w - ww, ZOOM_GRID).round().astype(int):
            window = rgb[top : top + wh, left : left + ww]
            found = _hand_from_palms(window, models, "zoom", offset=(float(left), float(top)))
            if found is not None and (best is None or _confidence(found) > _confidence(best)):
                best = found
    return best


def detect_hand_pose(rgb: npt.NDArray[np.uint8], *, attempts: tuple[str, ...] = ATTEMPTS) -> HandPose | None:
    """The most confident hand of an ``(H, W, 3)`` uint8 RGB photo, or None.

    The detection attempts (:data:`ATTEMPTS`) run in order until one finds a hand. None when
    the hand models are not installed, or no attempt finds a palm scoring at least
    :data:`MIN_PALM_SCORE` whose landmarks have a presence of at least :data:`MIN_PRESENCE`.
    """
    unknown = set(attempts) - set(ATTEMPTS)
    if unknown:
        raise InvalidParameterError(f"unknown detection attempt(s) {sorted(unknown)}; available: {', '.join(ATTEMPTS)}")
    models = _models()
    if models is None:
        return None
    rgb = np.ascontiguousarray(rgb)
    steps: dict[str, Callable[[npt.NDArray[np.uint8], tuple[Runner, Runner]], HandPose | None]] = {
        "photo": lambda x, m: _hand_from_palms(x, m, "photo"), "padded": _padded, "whole": _whole, "zoom": _zoom,
    }  # fmt: skip
    for name in attempts:
        found = steps[name](rgb, models)
        if found is not None:
            return found
    return None


def draw_hand(pose: HandPose, size: int, transform: Callable[[FloatArray], FloatArray], width: float) -> Any:
    """The hand's silhouette as a ``size`` x ``size`` PIL image ('L', 255 = hand).

    The skeleton's bones drawn ``width`` pixels thick and the palm polygon filled, after
    ``transform`` maps photo pixels to the image's.
    """
    from PIL import Image, ImageDraw

    points = transform(pose.landmarks)
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    draw.polygon([tuple(points[i]) for i in PALM_POLYGON], fill=255)
    radius = width / 2
    for a, b in SKELETON:
        draw.line([tuple(points[a]), tuple(points[b])], fill=255, width=max(1, round(width)))
    for x, y in points:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return image


@dataclasses.dataclass(frozen=True)
class CropReadings:
    """The landmark model's readings of a batch of 28x28 crops.

    Attributes:
        points: ``(N, 21, 3)`` x, y in crop pixels and relative depth (same units).
        world: ``(N, 21, 3)`` landmarks in metres, centred on the hand.
        presence: ``(N,)`` hand-presence scores.
        side: ``(N,)`` hand-side scores.
    """

    points: FloatArray
    world: FloatArray
    presence: FloatArray
    side: FloatArray


def read_crops(images: npt.NDArray[np.uint8]) -> CropReadings:
    """The landmark model's reading of the hand filling each 28x28 crop.

    A crop (a Sign MNIST image, or a photo's hand crop from :func:`preprocess_photo
    <asl_recognition.photo.preprocess_photo>`) already is a tight hand box: the landmark model
    reads it whole (upscaled bicubically to 224x224, grey in all three channels), without the
    palm detector (which needs context around the hand). Readings are remembered by content
    (:data:`CROP_CACHE_SIZE` crops). Most of Sign MNIST's test images get a presence of at
    least :data:`MIN_PRESENCE` (the share is measured in ``docs/photos.md``).

    Raises:
        ConfigurationError: the hand models are not installed.
    """
    from PIL import Image

    from asl_recognition.errors import ConfigurationError

    models = _models()
    if models is None:
        raise ConfigurationError(
            "hand landmarks need the hand models: run 'asl-recognition install-hand-models' "
            "(and do not set $ASL_HAND_MODELS=off)"
        )
    model = models[1]
    batch = np.asarray(images, dtype=np.uint8).reshape(-1, *IMAGE_SHAPE)
    n = LANDMARK_INPUT
    out = CropReadings(points=np.empty((len(batch), 21, 3)), world=np.zeros((len(batch), 21, 3)),
                       presence=np.empty(len(batch)), side=np.empty(len(batch)))  # fmt: skip
    shown = progress.task("hand landmarks", total=len(batch)) if len(batch) >= PROGRESS_MIN_CROPS else None
    with shown or contextlib.nullcontext() as bar:
        for i, image in enumerate(batch):
            key = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
            with _CROP_CACHE_LOCK:
                hit = _CROP_CACHE.get(key)
            if hit is None:
                big = np.asarray(Image.fromarray(image).resize((n, n), Image.Resampling.BICUBIC))
                reading = _read_hand(np.repeat(big[:, :, None], 3, axis=2), model)
                hit = dataclasses.replace(reading, points=reading.points * (IMAGE_SHAPE[0] / n))
                with _CROP_CACHE_LOCK:
                    _CROP_CACHE[key] = hit
                    if len(_CROP_CACHE) > CROP_CACHE_SIZE:
                        _CROP_CACHE.popitem(last=False)
            out.points[i], out.presence[i], out.side[i] = hit.points, hit.presence, hit.side
            if hit.world is not None:
                out.world[i] = hit.world
            if bar is not None:
                bar.advance()
    return out


def crop_landmarks(images: npt.NDArray[np.uint8]) -> tuple[FloatArray, FloatArray]:
    """Landmarks of the hand filling each 28x28 crop (:func:`read_crops`): ``(N, 21, 2)`` in
    crop pixels, and the ``(N,)`` presence scores.

    Raises:
        ConfigurationError: the hand models are not installed.
    """
    readings = read_crops(images)
    return readings.points[:, :, :2], readings.presence
