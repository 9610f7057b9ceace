"""The exceptions ``asl_recognition`` raises on purpose.

Every error the library raises deliberately derives from :class:`AslRecognitionError`, so
``except AslRecognitionError`` catches all of them and nothing else.

>>> from asl_recognition.errors import AslRecognitionError, DatasetError
>>> issubclass(DatasetError, AslRecognitionError)
True
"""

from __future__ import annotations

__all__ = [
    "AslRecognitionError",
    "ConfigurationError",
    "DatasetError",
    "DatasetIntegrityError",
    "DeploymentError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelFormatError",
    "NotFoundError",
    "RequestError",
    "TrainingError",
]


class AslRecognitionError(Exception):
    """Root of every error the library raises on purpose."""


class InvalidParameterError(AslRecognitionError, ValueError):
    """A constructor or function argument is out of range or of the wrong type."""


class ConfigurationError(AslRecognitionError, ValueError):
    """A configuration (Hydra, Azure workspace, environment variable) is missing or invalid."""


class NotFoundError(AslRecognitionError, LookupError):
    """A name (trainer, deployer, model type) is not registered; the message lists the known ones."""


class DatasetError(AslRecognitionError, ValueError):
    """A data file is malformed; the message names the file, row and column."""


class DatasetIntegrityError(DatasetError):
    """A data file parsed but its content fingerprint differs from the official file's."""


class ModelFormatError(AslRecognitionError, ValueError):
    """A saved model directory is missing, incomplete, or of an unknown format version."""


class MissingDependencyError(AslRecognitionError, ImportError):
    """An optional dependency is not installed; the message gives the ``pip install`` command."""


class TrainingError(AslRecognitionError, RuntimeError):
    """Training failed for a reason other than bad parameters or data."""


class DeploymentError(AslRecognitionError, RuntimeError):
    """A deployment could not be started, reached, updated or deleted."""


class RequestError(AslRecognitionError, ValueError):
    """A scoring request is malformed; maps to an HTTP 4xx answer.

    Args:
        message: what is wrong with the request, in words a client can act on.
        status: the HTTP status code to answer with (400 unless stated).
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
