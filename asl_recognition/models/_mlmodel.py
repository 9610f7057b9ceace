"""The ``MLmodel`` file every saved model directory carries, written without MLflow.

MLflow reads a model directory through its ``MLmodel`` YAML file: its ``python_function``
flavour names a loader module (:mod:`asl_recognition.models.pyfunc`) and the data it is given
(``asl_model.json``, which lists the model's files). The loader builds the model with
:func:`~asl_recognition.models.load_model`, so MLflow runs no pickled code: the library's
no-pickle rule holds under MLflow too. The file is plain block YAML with JSON-quoted scalars
(JSON strings are YAML double-quoted strings), so the core install needs neither MLflow nor a
YAML library to write it.

>>> text = mlmodel_text(model_type="sklearn", library_version="0.1.0", model_uuid="0" * 32,
...                     created="2026-01-01 00:00:00.000000")
>>> print(text.splitlines()[2])
    loader_module: "asl_recognition.models.pyfunc"
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asl_recognition._io import atomic_write_text

__all__ = ["LOADER_MODULE", "MLMODEL_FILE", "mlmodel_text", "write_mlmodel"]

MLMODEL_FILE = "MLmodel"
#: the module whose ``_load_pyfunc(data_path)`` MLflow calls
LOADER_MODULE = "asl_recognition.models.pyfunc"
#: the flavour name under which the library describes its own format in ``MLmodel``
FLAVOUR = "asl_recognition"


def _yaml(mapping: Mapping[str, Any], indent: int = 0) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml(value, indent + 2))
        else:
            lines.append(f"{pad}{key}: {json.dumps(value)}")
    return lines


def mlmodel_text(*, model_type: str, library_version: str, model_uuid: str, created: str,
                 metadata_file: str = "asl_model.json") -> str:  # fmt: skip
    """The ``MLmodel`` YAML of a model directory whose metadata file is ``metadata_file``.

    No signature is written: the model accepts (N, 28, 28) and (N, 784) arrays and DataFrames
    (see :mod:`asl_recognition.models.pyfunc`), and MLflow would force every input into the one
    shape a signature names.
    """
    doc = {
        "flavors": {
            "python_function": {
                "loader_module": LOADER_MODULE,
                "data": metadata_file,
                "python_version": platform.python_version(),
            },
            FLAVOUR: {
                "model_type": model_type,
                "library_version": library_version,
                "metadata": metadata_file,
            },
        },
        "model_uuid": model_uuid,
        "utc_time_created": created,
    }
    return "\n".join(_yaml(doc)) + "\n"


def write_mlmodel(directory: Path, *, model_type: str, library_version: str,
                  metadata_file: str = "asl_model.json") -> Path:  # fmt: skip
    """Write ``directory/MLmodel`` (atomically) for the model saved in ``directory``."""
    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    text = mlmodel_text(model_type=model_type, library_version=library_version,
                        model_uuid=uuid.uuid4().hex, created=created, metadata_file=metadata_file)
    return atomic_write_text(directory / MLMODEL_FILE, text)
