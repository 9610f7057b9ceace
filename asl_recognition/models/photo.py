"""The ``photo`` flavour: a recogniser that reads the photo's hand, not only its 28x28 crop.

A :class:`PhotoModel` has two experts:

- the **pose expert** (:class:`PoseClassifier`): a small neural network on the hand-shape
  features (:mod:`asl_recognition.photo.hand_shape`) of the full-resolution 3-D landmarks the
  learned detector reads in the photo; it sees the hand's shape and orientation and nothing of
  the room, the light or the skin;
- an optional **pixel expert**: any saved model reading 28x28 crops (e.g. the ``cnn``
  backend's), for inputs that are crops (the Sign MNIST files, greyscale images) and photos in
  which no landmarks were found.

On photos with landmarks the experts' probabilities are mixed linearly,
``w * pose + (1 - w) * pixel``, with ``w`` (:attr:`PhotoModel.photo_weight`) learned on
validation photos of people the experts were not trained on (the ``photo`` trainer). A linear
mixture cannot be vetoed: one expert's confident mistake lowers the other's right answer but
cannot erase it, as a product of the two can. Without validation photos ``w`` is 1: the pose
expert alone reads photos with landmarks.

Files: ``pose.npz`` (the network's arrays, loaded without pickle) and, with a pixel expert,
its own model directory ``pixel/``.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_write_bytes
from asl_recognition._validation import Interval, check_param
from asl_recognition.errors import InvalidParameterError, ModelFormatError
from asl_recognition.models.base import ModelMetadata, TrainedModel, load_model, register_model_type, save_submodel
from asl_recognition.photo.hand_shape import N_FEATURES, hand_shape_features
from asl_recognition.photo.mirror import is_other_side

__all__ = ["PhotoModel", "PoseClassifier", "observation_features"]

logger = logging.getLogger(__name__)

_POSE_FILE = "pose.npz"
_PIXEL_DIR = "pixel"


@dataclasses.dataclass(frozen=True)
class PoseClassifier:
    """A multilayer perceptron (ReLU hidden layers, softmax output) on standardised features.

    Stored as plain arrays, so it loads without pickle and predicts with NumPy alone.

    Attributes:
        mean, scale: the features' standardisation (``(x - mean) / scale``).
        weights, biases: one matrix and vector per layer.
        labels: the label id of each output.
    """

    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: tuple[npt.NDArray[np.float64], ...]
    biases: tuple[npt.NDArray[np.float64], ...]
    labels: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ModelFormatError(f"a pose classifier needs one bias per weight matrix, got "
                                   f"{len(self.weights)} and {len(self.biases)}")  # fmt: skip
        width = len(self.mean)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                raise ModelFormatError(f"pose classifier layer {i}: weights {w.shape} and bias {b.shape} "
                                       f"do not follow an input of width {width}")  # fmt: skip
            width = w.shape[1]
        if width != len(self.labels) or self.scale.shape != self.mean.shape:
            raise ModelFormatError(f"pose classifier: {width} outputs for {len(self.labels)} labels")

    @classmethod
    def from_sklearn(cls, scaler: Any, mlp: Any) -> PoseClassifier:
        """From a fitted ``StandardScaler`` and ``MLPClassifier`` (ReLU, softmax output)."""
        if getattr(mlp, "activation", "relu") != "relu":
            raise InvalidParameterError(f"only ReLU networks are supported, got activation={mlp.activation!r}")
        weights = tuple(np.asarray(w, np.float64) for w in mlp.coefs_)
        biases = tuple(np.asarray(b, np.float64) for b in mlp.intercepts_)
        labels = tuple(int(c) for c in mlp.classes_)
        if len(labels) == 2:  # sklearn's binary MLP has one logistic output: make it two logits
            weights = (*weights[:-1], np.concatenate([-weights[-1], weights[-1]], axis=1) / 2)
            biases = (*biases[:-1], np.concatenate([-biases[-1], biases[-1]]) / 2)
        return cls(mean=np.asarray(scaler.mean_, np.float64), scale=np.asarray(scaler.scale_, np.float64),
                   weights=weights, biases=biases, labels=labels)  # fmt: skip

    def predict_proba(self, features: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(N, F)`` features -> ``(N, len(labels))`` probabilities."""
        x = (np.asarray(features, np.float64) - self.mean) / np.where(self.scale > 0, self.scale, 1.0)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w + b
            if i < len(self.weights) - 1:
                x = np.maximum(x, 0.0)
        x -= x.max(axis=1, keepdims=True)
        e = np.exp(x)
        out: npt.NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
        return out

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases."""
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases, strict=True))

    def to_bytes(self) -> bytes:
        """The arrays as an ``.npz`` file's bytes."""
        arrays: dict[str, Any] = {"mean": self.mean, "scale": self.scale, "labels": np.asarray(self.labels)}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_file(cls, path: Path) -> PoseClassifier:
        """Read :meth:`to_bytes`' file (no pickle)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                n = sum(1 for k in data.files if k.startswith("w"))
                return cls(mean=data["mean"].astype(np.float64), scale=data["scale"].astype(np.float64),
                           weights=tuple(data[f"w{i}"].astype(np.float64) for i in range(n)),
                           biases=tuple(data[f"b{i}"].astype(np.float64) for i in range(n)),
                           labels=tuple(int(x) for x in data["labels"]))  # fmt: skip
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ModelFormatError(f"{path}: not a pose classifier file ({exc})") from exc


def observation_features(observations: Sequence[Any]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Hand-shape features of the observations that have landmarks: ``(features (M, F), found
    (N,))`` where ``found`` marks the M observations with a learned-detector pose."""
    found = np.array([o.pose is not None for o in observations], dtype=bool)
    poses = [o.pose for o in observations if o.pose is not None]
    if not poses:
        return np.zeros((0, N_FEATURES), np.float32), found
    points = np.stack([p.points3d for p in poses])
    world = np.stack([np.zeros((21, 3)) if p.world is None else p.world for p in poses])
    other = np.array([is_other_side(p.side_score) for p in poses])
    return hand_shape_features(points, world, other), found


def crop_features(images: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Hand-shape features of 28x28 crops (the landmark model reading each whole crop) and
    which crops show a hand (presence of at least ``MIN_PRESENCE``)."""
    from asl_recognition.photo.handpose import MIN_PRESENCE, read_crops

    r = read_crops(images)
    other = np.array([is_other_side(s) for s in r.side])
    return hand_shape_features(r.points, r.world, other), r.presence >= MIN_PRESENCE


@register_model_type("photo")
class PhotoModel(TrainedModel):
    """Pose expert plus optional pixel expert (see the module docstring).

    Args:
        pose: the pose expert.
        pixel: a model reading 28x28 crops, or None.
        photo_weight: the pose expert's weight on photos with landmarks, in [0, 1] (1 without
            a pixel expert).
        metadata: None builds it (backend ``photo``).
    """

    model_type = "photo"
    reads_photos = True

    def __init__(self, *, pose: PoseClassifier, pixel: TrainedModel | None = None, photo_weight: float = 1.0,
                 metadata: ModelMetadata | None = None) -> None:  # fmt: skip
        check_param("photo_weight", photo_weight, Interval(float, 0, 1))
        if pixel is None and photo_weight != 1.0:
            raise InvalidParameterError("'photo_weight' must be 1 without a pixel expert")
        if pixel is not None and pixel.labels != pose.labels:
            raise ModelFormatError(f"the pixel expert predicts labels {pixel.labels}, the pose expert {pose.labels}")
        if metadata is None:
            metadata = ModelMetadata.create(
                model_type=self.model_type, backend="photo", labels=pose.labels,
                preprocessing={"photos": "hand observation (landmarks, side, crop)", "crops": "28x28 pixels"},
                hyperparameters={"photo_weight": float(photo_weight),
                                 "pixel": None if pixel is None else pixel.metadata.backend,
                                 "pose_layers": [w.shape[1] for w in pose.weights[:-1]]},
            )  # fmt: skip
        super().__init__(metadata=metadata)
        self.pose = pose
        self.pixel = pixel
        self.photo_weight = float(photo_weight)

    def set_threads(self, threads: int | None) -> None:
        """Cap the pixel expert's compute threads (a server worker)."""
        set_threads = getattr(self.pixel, "set_threads", None)
        if callable(set_threads):
            set_threads(threads)

    def _pose_on_crops(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        features, found = crop_features(images)
        proba = self.pose.predict_proba(features)
        proba[~found] = 1.0 / len(self.labels)  # no hand in the crop: no opinion
        return proba

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        if self.pixel is not None:
            return np.asarray(self.pixel.predict_proba(images), np.float64)
        return self._pose_on_crops(np.clip(np.rint(images), 0, 255).astype(np.uint8))

    def expert_probabilities(self, observations: Sequence[Any]) -> dict[str, npt.NDArray[np.float64]]:
        """Each expert's probabilities for the observations (``pose`` rows without landmarks
        are uniform), for fusion, comparisons and diagnosis."""
        features, found = observation_features(observations)
        pose = np.full((len(observations), len(self.labels)), 1.0 / len(self.labels))
        if found.any():
            pose[found] = self.pose.predict_proba(features)
        out = {"pose": pose}
        if self.pixel is not None:
            out["pixel"] = np.asarray(self.pixel.predict_observations_proba(observations), np.float64)
        return out

    def predict_observations_proba(self, observations: Sequence[Any]) -> npt.NDArray[np.float64]:
        """Fused probabilities: the mixture on photos with landmarks, the pixel expert (else the
        pose expert on the crop) on the others."""
        if not observations:
            return np.zeros((0, len(self.labels)))
        experts = self.expert_probabilities(observations)
        found = np.array([o.pose is not None for o in observations], dtype=bool)
        pixel = experts.get("pixel")
        if pixel is None:
            out = experts["pose"]
            if (~found).any():
                crops = [o.image for o, f in zip(observations, found, strict=True) if not f]
                out[~found] = self._pose_on_crops(np.stack(crops))
            return out
        w = self.photo_weight
        return np.where(found[:, None], w * experts["pose"] + (1 - w) * pixel, pixel)

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        atomic_write_bytes(directory / _POSE_FILE, self.pose.to_bytes())
        files = {"pose": _POSE_FILE}
        if self.pixel is not None:
            files.update(save_submodel(self.pixel, directory, _PIXEL_DIR, "pixel"))
        return files

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> PhotoModel:
        pose_file = metadata.files.get("pose")
        if pose_file is None:
            raise ModelFormatError(f"{directory}: a photo model's metadata lists no 'pose' file")
        pixel = load_model(directory / _PIXEL_DIR) if "pixel" in metadata.files else None
        weight = metadata.hyperparameters.get("photo_weight", 1.0)
        if not isinstance(weight, (int, float)):
            raise ModelFormatError(f"{directory}: photo_weight must be a number, got {weight!r}")
        return cls(pose=PoseClassifier.from_file(directory / pose_file), pixel=pixel, photo_weight=float(weight),
                   metadata=metadata)  # fmt: skip
