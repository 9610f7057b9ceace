"""The hyperparameters of one CNN training run, validated once, shared by script and backend.

>>> TrainConfig(epochs=0)
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'epochs' must be an integer >= 1, got 0
>>> TrainConfig(arch="seed").to_args()[:4]
['--arch', 'seed', '--epochs', '10']
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asl_recognition._validation import Constraint, Interval, StrOptions, validate_params
from asl_recognition.errors import InvalidParameterError
from asl_recognition.models._keras_env import BACKENDS
from asl_recognition.trainers.cnn.architectures import ARCHITECTURES
from asl_recognition.trainers.cnn.precision import PRECISIONS

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainConfig"]

OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "cosine")

_AT_LEAST_ONE = Interval(int, 1, None)
_NON_NEGATIVE = Interval(float, 0, None)
_CONSTRAINTS: dict[str, list[Constraint]] = {
    "arch": [StrOptions(sorted(ARCHITECTURES))],
    "optimizer": [StrOptions(OPTIMIZERS)],
    "schedule": [StrOptions(SCHEDULES)],
    "backend": [StrOptions(BACKENDS)],
    "precision": [StrOptions(PRECISIONS)],
    "epochs": [_AT_LEAST_ONE],
    "batch_size": [_AT_LEAST_ONE],
    "hidden": [_AT_LEAST_ONE],
    "dropout": [Interval(float, 0, 1)],  # 1: no dropout
    "learning_rate": [Interval(float, 0, None, closed="neither")],
    "weight_decay": [_NON_NEGATIVE],
    "warmup_epochs": [_NON_NEGATIVE],
    "augment_strength": [_NON_NEGATIVE],
    "label_smoothing": [Interval(float, 0, 1, closed="left")],
    "augment": [bool],
    "recalibrate_bn": [bool],
    "photo_augment": [bool],
    "deterministic": [bool],
    "seed": [Interval(int, 0, None)],
    "threads": [None, _AT_LEAST_ONE],
}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (the training script's command-line arguments).

    Attributes:
        arch: ``"small"`` (default, batch-norm CNN) or ``"seed"`` (the seed study's network).
        epochs, batch_size, hidden, dropout: as in the seed's script (``dropout >= 1``: none).
        optimizer: ``"adamw"`` or ``"adam"``; ``weight_decay`` applies to AdamW only.
        learning_rate: peak learning rate.
        schedule: ``"cosine"`` (linear warmup over ``warmup_epochs``, then cosine to 0) or
            ``"constant"``.
        label_smoothing: cross-entropy label smoothing.
        augment: random affine + brightness/contrast augmentation while training.
        augment_strength: multiplies every augmentation range (1: :data:`.augment.DEFAULT_STRENGTH`).
        recalibrate_bn: after training, set the batch-norm statistics to their exact values on
            the unaugmented training images (:mod:`.batchnorm`; no effect on ``seed``).
        photo_augment: train on "real conditions" augmented batches instead
            (:mod:`asl_recognition.photo.augment`: mirror, scale/position, clutter, lighting,
            blur, noise); replaces ``augment``. For models meant to read real photos.
        precision: ``"float32"``, ``"mixed_bfloat16"`` (layers compute in bfloat16, weights stay
            float32) or ``"auto"`` (bfloat16 on TensorFlow on CPUs with AMX, see
            :mod:`.precision`). The saved network is float32 in every case.
        seed: seeds Python, NumPy and the backend (``keras.utils.set_random_seed``).
        backend: Keras backend, ``"tensorflow"`` or ``"torch"``.
        threads: CPU threads for the framework (None: its default).
        deterministic: also force deterministic TensorFlow kernels (slower; see docs).
    """

    arch: str = "small"
    epochs: int = 10
    batch_size: int = 64
    hidden: int = 128
    dropout: float = 0.3
    optimizer: str = "adamw"
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.05
    augment: bool = True
    augment_strength: float = 1.0
    recalibrate_bn: bool = True
    photo_augment: bool = False
    precision: str = "float32"
    seed: int = 0
    backend: str = "tensorflow"
    threads: int | None = None
    deterministic: bool = False

    def __post_init__(self) -> None:
        validate_params(self.to_dict(), _CONSTRAINTS)

    @classmethod
    def fields(cls) -> list[str]:
        """Names of all hyperparameters."""
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (and validated); unknown names raise."""
        unknown = sorted(set(changes) - set(self.fields()))
        if unknown:
            raise InvalidParameterError(
                f"unknown CNN hyperparameter(s) {', '.join(map(repr, unknown))}; "
                f"accepted: {', '.join(self.fields())}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of all hyperparameters."""
        return dataclasses.asdict(self)

    def to_args(self) -> list[str]:
        """The training script's command line for this configuration."""
        args: list[str] = []
        for name, value in self.to_dict().items():
            if value is None:
                continue
            args += [f"--{name}", str(int(value)) if isinstance(value, bool) else str(value)]
        return args
