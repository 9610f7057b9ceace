"""The ``photo`` flavour: a recogniser that reads the photo's hand, not only its 28x28 crop.

A :class:`PhotoModel` has two experts:

- the **pose expert** (:class:`PoseEnsemble` of :class:`PoseClassifier` networks, their
  probabilities averaged): small neural networks on the hand-shape features
  (:mod:`asl_recognition.photo.hand_shape`) of the full-resolution 3-D landmarks the learned
  detector reads in the photo; they see the hand's shape and orientation and nothing of the
  room, the light or the skin;
- an optional **pixel expert**: any saved model reading 28x28 crops (e.g. the ``cnn``
  backend's), for inputs that are crops (the Sign MNIST files, greyscale images) and photos in
  which no landmarks were found.

On photos with landmarks the experts' probabilities are mixed linearly,
``w * pose + (1 - w) * pixel``, with ``w`` (:attr:`PhotoModel.photo_weight`) learned on
validation photos of people the experts were not trained on (the ``photo`` trainer). A linear
mixture cannot be vetoed: one expert's confident mistake lowers the other's right answer but
cannot erase it, as a product of the two can. Without validation photos ``w`` is 1: the pose
expert alone reads photos with landmarks.

Files: ``pose.npz`` (the networks' arrays, loaded without pickle; one network in the format of
models saved before ensembles, which still load) and, with a pixel expert, its own model
directory ``pixel/``.
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

__all__ = ["PhotoModel", "PoseClassifier", "PoseEnsemble", "observation_features"]

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

    def arrays(self, prefix: str = "") -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`to_bytes` stores, their names prefixed with ``prefix``."""
        out: dict[str, npt.NDArray[Any]] = {f"{prefix}mean": self.mean, f"{prefix}scale": self.scale,
                                            f"{prefix}labels": np.asarray(self.labels)}  # fmt: skip
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"{prefix}w{i}"], out[f"{prefix}b{i}"] = w.astype(np.float32), b.astype(np.float32)
        return out

    @classmethod
    def from_arrays(cls, data: Mapping[str, npt.NDArray[Any]], prefix: str = "") -> PoseClassifier:
        """The classifier whose :meth:`arrays` (with ``prefix``) are ``data``."""
        n = sum(1 for k in data if k.startswith(f"{prefix}w") and k[len(prefix) + 1 :].isdigit())
        return cls(mean=data[f"{prefix}mean"].astype(np.float64), scale=data[f"{prefix}scale"].astype(np.float64),
                   weights=tuple(data[f"{prefix}w{i}"].astype(np.float64) for i in range(n)),
                   biases=tuple(data[f"{prefix}b{i}"].astype(np.float64) for i in range(n)),
                   labels=tuple(int(x) for x in data[f"{prefix}labels"]))  # fmt: skip

    def to_bytes(self) -> bytes:
        """The arrays as an ``.npz`` file's bytes."""
        return _npz(self.arrays())

    @classmethod
    def from_file(cls, path: Path) -> PoseClassifier:
        """Read :meth:`to_bytes`' file (no pickle)."""
        ensemble = PoseEnsemble.from_file(path)
        if len(ensemble.members) != 1:
            raise ModelFormatError(f"{path}: holds {len(ensemble.members)} pose classifiers, not one")
        return ensemble.members[0]


def _npz(arrays: Mapping[str, npt.NDArray[Any]]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **dict[str, Any](arrays))
    return buf.getvalue()


@dataclasses.dataclass(frozen=True)
class PoseEnsemble:
    """Pose classifiers of the same labels and features whose probabilities are averaged.

    The ``photo`` trainer trains each member with its own seed and its own held-out persons
    for early stopping; averaging them lowers the variance that one small network trained on a
    few persons has (what it reads in a person it never saw depends much on its seed).
    """

    members: tuple[PoseClassifier, ...]

    def __post_init__(self) -> None:
        if not self.members:
            raise ModelFormatError("a pose ensemble needs at least one classifier")
        first = self.members[0]
        for i, m in enumerate(self.members[1:], start=1):
            if m.labels != first.labels or m.mean.shape != first.mean.shape:
                raise ModelFormatError(f"pose ensemble member {i} reads {m.mean.shape[0]} features into labels "
                                       f"{m.labels}, member 0 {first.mean.shape[0]} into {first.labels}")  # fmt: skip

    @property
    def labels(self) -> tuple[int, ...]:
        """The label id of each output."""
        return self.members[0].labels

    @property
    def hidden_layers(self) -> list[int]:
        """The hidden layer widths of the first member."""
        return [w.shape[1] for w in self.members[0].weights[:-1]]

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases of all members."""
        return sum(m.n_parameters for m in self.members)

    def predict_proba(self, features: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(N, F)`` features -> the members' mean ``(N, len(labels))`` probabilities."""
        x = np.asarray(features, np.float64)
        out: npt.NDArray[np.float64] = np.mean([m.predict_proba(x) for m in self.members], axis=0)
        return out

    def to_bytes(self) -> bytes:
        """The members' arrays as one ``.npz`` file (one member: :class:`PoseClassifier`'s format)."""
        if len(self.members) == 1:
            return self.members[0].to_bytes()
        arrays: dict[str, npt.NDArray[Any]] = {"members": np.asarray(len(self.members))}
        for k, m in enumerate(self.members):
            arrays.update(m.arrays(prefix=f"m{k}_"))
        return _npz(arrays)

    @classmethod
    def from_file(cls, path: Path) -> PoseEnsemble:
        """Read :meth:`to_bytes`' file, or :meth:`PoseClassifier.to_bytes`' (no pickle)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            if "members" not in arrays:
                return cls((PoseClassifier.from_arrays(arrays),))
            count = int(arrays["members"])
            return cls(tuple(PoseClassifier.from_arrays(arrays, prefix=f"m{k}_") for k in range(count)))
        except (OSError, ValueError, KeyError, EOFError, TypeError) as exc:
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
        pose: the pose expert (a single classifier is taken as an ensemble of one).
        pixel: a model reading 28x28 crops, or None.
        photo_weight: the pose expert's weight on photos with landmarks, in [0, 1] (1 without
            a pixel expert).
        metadata: None builds it (backend ``photo``).
    """

    model_type = "photo"
    reads_photos = True

    def __init__(self, *, pose: PoseEnsemble | PoseClassifier, pixel: TrainedModel | None = None,
                 photo_weight: float = 1.0, metadata: ModelMetadata | None = None) -> None:  # fmt: skip
        check_param("photo_weight", photo_weight, Interval(float, 0, 1))
        if isinstance(pose, PoseClassifier):
            pose = PoseEnsemble((pose,))
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
                                 "pose_layers": pose.hidden_layers, "pose_members": len(pose.members)},
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
        return cls(pose=PoseEnsemble.from_file(directory / pose_file), pixel=pixel, photo_weight=float(weight),
                   metadata=metadata)  # fmt: skip
