"""The JSON answers of the scoring script.

A prediction answer keeps the seed service's ``"result"`` key first (a list of label ids, as
the seed's AutoML scoring script returned), then adds::

    {"result": [0, 17],                       # label id per image (0=A ... 24=Y)
     "letters": ["A", "R"],                   # letter per image
     "probabilities": [                       # per image: the top_k classes, most probable first
        [{"label": 0, "letter": "A", "probability": 0.91}, ...],
        ...],
     "images": [[[0, 12, ...], ...], ...]}     # only with "return_images": the 28x28 uint8
                                              # pixels the model saw, one per image

Errors are ``{"message": "..."}``, the same shape the inference server uses for its own errors.

>>> import numpy as np
>>> p = prediction_payload(np.array([[0.2, 0.7, 0.1]]), (0, 1, 2), top_k=2)
>>> p["result"], p["letters"], [c["letter"] for c in p["probabilities"][0]]
([1], ['B'], ['B', 'A'])
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.data.letters import labels_to_letters

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only without the serve extra
    _orjson = None  # type: ignore[assignment]
    import json as _json

__all__ = ["error_payload", "json_dumps", "prediction_payload"]


def json_dumps(obj: Any) -> bytes:
    """Encode ``obj`` (plain JSON types) as compact UTF-8 JSON bytes, fastest encoder first."""
    if _orjson is not None:
        return _orjson.dumps(obj)
    return _json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


def prediction_payload(
    proba: npt.ArrayLike,
    labels: Sequence[int],
    *,
    top_k: int,
    images: npt.NDArray[Any] | None = None,
    hands: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Build the answer for probabilities ``proba`` (N, len(labels)).

    Args:
        proba: class probabilities, columns in the order of ``labels``.
        labels: label id of each column.
        top_k: classes listed per image under ``"probabilities"`` (capped at len(labels)).
        images: the (N, 28, 28) model inputs to echo, or None.
        hands: each encoded image's :class:`~asl_recognition.photo.HandObservation`, to report
            under ``"hands"`` what was found (:func:`hand_payload`), or None.
    """
    p = np.asarray(proba, dtype=np.float64)
    label_arr, letter_arr = _label_table(tuple(labels))
    k = max(1, min(int(top_k), len(label_arr)))
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    top_p = np.round(np.take_along_axis(p, order, axis=1), 6).tolist()
    top_labels = label_arr[order].tolist()
    top_letters = letter_arr[order].tolist()
    payload: dict[str, Any] = {
        "result": [row[0] for row in top_labels],
        "letters": [row[0] for row in top_letters],
        "probabilities": [
            [
                {"label": lab, "letter": let, "probability": prob}
                for lab, let, prob in zip(labs, lets, probs, strict=True)
            ]
            for labs, lets, probs in zip(top_labels, top_letters, top_p, strict=True)
        ],
    }
    if images is not None:
        payload["images"] = np.clip(np.rint(images), 0, 255).astype(np.uint8).tolist()
    if hands is not None:
        payload["hands"] = [hand_payload(o) for o in hands]
    return payload


def hand_payload(observation: Any) -> dict[str, Any] | None:
    """What was found of the hand in one photo, as JSON: the crop's box (photo pixels: left,
    top, right, bottom), whether it was mirrored, the photo's size, and with the learned
    detector the 21 landmarks (x, y in photo pixels), the skeleton's bones and the detection
    attempt; None when no hand was found (the centre of the photo was used)."""
    box = observation.hand
    if box is None:
        return None
    out: dict[str, Any] = {
        "box": [box.left, box.top, box.right, box.bottom],
        "mirrored": bool(observation.mirrored),
        "photo_size": list(observation.photo_size),
        "detector": "skin" if box.pose is None else "landmarks",
    }
    if box.pose is not None:
        from asl_recognition.photo.handpose import SKELETON

        out["landmarks"] = np.round(box.pose.landmarks, 1).tolist()
        out["bones"] = [list(b) for b in SKELETON]
        out["attempt"] = box.pose.attempt
    return out


@functools.lru_cache(maxsize=16)
def _label_table(
    labels: tuple[int, ...],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_]]:
    """Label ids and their letters as arrays, validated and built once per model."""
    label_arr = np.asarray(labels, dtype=np.int64)
    letter_arr = labels_to_letters(label_arr)
    label_arr.flags.writeable = False
    letter_arr.flags.writeable = False
    return label_arr, letter_arr


def error_payload(message: str) -> dict[str, str]:
    """The body of a 4xx/5xx answer."""
    return {"message": message}
