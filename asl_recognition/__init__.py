"""asl_recognition: train, compare and serve American Sign Language fingerspelling recognisers.

The public surface is what ``__all__`` lists. Heavy backends (TensorFlow, torch, azureml) load
only when a trainer or deployer that needs them is used.

>>> import asl_recognition
>>> "sklearn" in asl_recognition.available_trainers()
True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from asl_recognition._version import __version__

# name -> module that defines it; resolved on first attribute access (PEP 562) so that
# ``import asl_recognition`` stays fast and light.
_EXPORTS: dict[str, str] = {
    "AslRecognitionError": "asl_recognition.errors",
    "Dataset": "asl_recognition.data",
    "load_dataset": "asl_recognition.data",
    "Trainer": "asl_recognition.trainers.base",
    "TrainResult": "asl_recognition.trainers.base",
    "get_trainer": "asl_recognition.trainers.base",
    "register_trainer": "asl_recognition.trainers.base",
    "available_trainers": "asl_recognition.trainers.base",
    "TrainedModel": "asl_recognition.models",
    "ModelMetadata": "asl_recognition.models",
    "load_model": "asl_recognition.models",
    "register_model_type": "asl_recognition.models",
    "Comparator": "asl_recognition.compare",
    "Deployer": "asl_recognition.deploy.base",
    "get_deployer": "asl_recognition.deploy.base",
    "available_deployers": "asl_recognition.deploy.base",
    "ScoringClient": "asl_recognition.deploy.client",
    "preprocess_image": "asl_recognition.images",
}

__all__ = [
    "AslRecognitionError",
    "Comparator",
    "Dataset",
    "Deployer",
    "ScoringClient",
    "ModelMetadata",
    "TrainResult",
    "TrainedModel",
    "Trainer",
    "__version__",
    "available_deployers",
    "available_trainers",
    "get_deployer",
    "get_trainer",
    "load_dataset",
    "load_model",
    "preprocess_image",
    "register_model_type",
    "register_trainer",
]
assert set(__all__) == set(_EXPORTS) | {"__version__"}

if TYPE_CHECKING:
    from asl_recognition.compare import Comparator
    from asl_recognition.data import Dataset, load_dataset
    from asl_recognition.deploy.base import Deployer, available_deployers, get_deployer
    from asl_recognition.deploy.client import ScoringClient
    from asl_recognition.errors import AslRecognitionError
    from asl_recognition.images import preprocess_image
    from asl_recognition.models import ModelMetadata, TrainedModel, load_model, register_model_type
    from asl_recognition.trainers.base import (
        Trainer,
        TrainResult,
        available_trainers,
        get_trainer,
        register_trainer,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'asl_recognition' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
