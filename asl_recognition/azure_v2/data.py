"""Data and model assets (SDK v2): a :class:`~asl_recognition.data.Dataset` as a ``uri_file`` or an
``mltable``; a model folder registered as a custom model.

The dataset is written as a Sign MNIST CSV (the SDK v1 adapter's
:func:`~asl_recognition.azure.datasets.write_csv`) and registered as a data asset tagged with
its content fingerprint; a version whose fingerprint matches is reused, so re-running uploads
nothing. Command jobs (the training script) read the ``uri_file``; AutoML reads an ``mltable``:
the same CSV beside an ``MLTable`` file that says how to parse it.

>>> print(MLTABLE_TEXT.format(file="data.csv"), end="")
paths:
  - file: ./data.csv
transformations:
  - read_delimited:
      delimiter: ','
      header: all_files_same_headers
      encoding: utf8
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from asl_recognition._io import atomic_write_bytes
from asl_recognition.azure.datasets import CSV_NAME, write_csv
from asl_recognition.azure_v2._sdk import require_azure_ai_ml

require_azure_ai_ml()

from azure.ai.ml import Input  # noqa: E402
from azure.ai.ml.constants import AssetTypes  # noqa: E402
from azure.ai.ml.entities import Data, Model  # noqa: E402
from azure.core.exceptions import ResourceNotFoundError  # noqa: E402

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["MLTABLE_TEXT", "DataAsset", "data_asset", "ensure_data", "job_input", "register_model"]

log = logging.getLogger(__name__)

#: the MLTable file written beside the CSV of an ``mltable`` asset
MLTABLE_TEXT = """paths:
  - file: ./{file}
transformations:
  - read_delimited:
      delimiter: ','
      header: all_files_same_headers
      encoding: utf8
"""

Kind = Literal["uri_file", "mltable"]
_TYPES = {"uri_file": AssetTypes.URI_FILE, "mltable": AssetTypes.MLTABLE}


@dataclasses.dataclass(frozen=True)
class DataAsset:
    """A registered data asset: ``azureml:<name>:<version>``."""

    name: str
    version: str
    kind: Kind
    reused: bool = False

    @property
    def uri(self) -> str:
        """``azureml:<name>:<version>``, as jobs reference it."""
        return f"azureml:{self.name}:{self.version}"


def data_asset(path: Path, *, name: str, version: str, kind: Kind, description: str, tags: dict[str, str]) -> Data:
    """The ``Data`` entity uploading ``path`` (a CSV file, or a folder holding an MLTable)."""
    return Data(name=name, version=version, path=str(path), type=_TYPES[kind], description=description, tags=tags)


def job_input(asset: DataAsset, *, mode: str = "download") -> Input:
    """The asset as a job ``Input`` (``download`` or ``ro_mount``; AutoML reads MLTables directly)."""
    if asset.kind == "mltable":
        return Input(type=AssetTypes.MLTABLE, path=asset.uri)
    return Input(type=AssetTypes.URI_FILE, path=asset.uri, mode=mode)


def _existing(client: Any, name: str) -> list[Any]:
    try:
        return list(client.data.list(name=name))
    except ResourceNotFoundError:
        return []


def _next_version(versions: list[Any]) -> str:
    numbers = [int(v.version) for v in versions if str(getattr(v, "version", "")).isdigit()]
    return str(max(numbers, default=0) + 1)


def ensure_data(client: Any, dataset: Dataset, *, name: str, kind: Kind, description: str) -> DataAsset:
    """Register ``dataset`` as asset ``name`` unless a version with the same fingerprint exists."""
    fingerprint = dataset.fingerprint
    versions = _existing(client, name)
    for found in versions:
        if (getattr(found, "tags", None) or {}).get("fingerprint") == fingerprint:
            log.info("azure v2: reusing data asset %s:%s", name, found.version)
            return DataAsset(name, str(found.version), kind, reused=True)
    version = _next_version(versions)
    tags = {"fingerprint": fingerprint, "rows": str(len(dataset)), "source": dataset.name}
    with tempfile.TemporaryDirectory(prefix="asl-azure-v2-data-") as tmp:
        folder = Path(tmp) / name
        csv = write_csv(dataset, folder / CSV_NAME)
        path = csv
        if kind == "mltable":
            atomic_write_bytes(folder / "MLTable", MLTABLE_TEXT.format(file=CSV_NAME).encode("utf-8"))
            path = folder
        log.info("azure v2: uploading %d rows as data asset %s:%s (%s)", len(dataset), name, version, kind)
        created = client.data.create_or_update(
            data_asset(path, name=name, version=version, kind=kind, description=description, tags=tags)
        )
    return DataAsset(name, str(getattr(created, "version", None) or version), kind)


def register_model(client: Any, path: Path, *, name: str, tags: dict[str, str], description: str) -> str:
    """Register the folder ``path`` as a custom model; return ``name:version``."""
    model = client.models.create_or_update(
        Model(path=str(path), name=name, type=AssetTypes.CUSTOM_MODEL, tags=tags, description=description)
    )
    return f"{getattr(model, 'name', name)}:{getattr(model, 'version', '?')}"
