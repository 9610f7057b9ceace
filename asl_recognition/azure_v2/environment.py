"""Environments and code snapshots (SDK v2), from the library's own pinned dependencies.

:func:`build_environment` returns a real ``azure.ai.ml.entities.Environment``: an Azure ML
base image plus a conda file whose pip section is
:func:`~asl_recognition.azure.requirements.pinned_requirements` (the versions installed here,
as for SDK v1). The library itself travels in the job's or deployment's code snapshot
(:func:`library_snapshot`: a copy of this package beside the entry script), so SDK v2 needs
no private wheel: the script's folder is on ``sys.path`` in both command jobs and the
inference server.

>>> env = build_environment("asl-test", extras=())
>>> env.image == DEFAULT_IMAGE, any(p.startswith("numpy==") for p in env.conda_file["dependencies"][-1]["pip"])
(True, True)
"""

from __future__ import annotations

import logging
import platform
import shutil
from collections.abc import Sequence
from pathlib import Path

from asl_recognition.azure.requirements import pinned_requirements
from asl_recognition.azure_v2._sdk import require_azure_ai_ml

require_azure_ai_ml()

from azure.ai.ml.entities import Environment  # noqa: E402

__all__ = ["DEFAULT_IMAGE", "PACKAGE", "build_environment", "conda_file", "library_snapshot"]

log = logging.getLogger(__name__)

#: Azure ML's base image for conda environments (CPU)
DEFAULT_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
#: the folder of this library's package (copied into code snapshots)
PACKAGE = Path(__file__).resolve().parents[1]


def conda_file(name: str, pip: Sequence[str], *, python_version: str | None = None) -> dict[str, object]:
    """A conda environment specification: this Python version, pip, and ``pip`` packages."""
    python = python_version or ".".join(platform.python_version_tuple()[:2])
    return {
        "name": name,
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": list(pip)}],
    }


def build_environment(
    name: str,
    *,
    extras: Sequence[str] = (),
    extra_pip: Sequence[str] = (),
    image: str = DEFAULT_IMAGE,
    python_version: str | None = None,
    description: str | None = None,
) -> Environment:
    """An ``Environment`` from ``image`` plus the pinned requirements of the core and ``extras``."""
    pip = pinned_requirements(extras=extras) + list(extra_pip)
    log.info("azure v2: environment %s with %d pip requirements", name, len(pip))
    return Environment(
        name=name,
        image=image,
        conda_file=conda_file(name, pip, python_version=python_version),
        description=description or f"asl_recognition {', '.join(extras) or 'core'} dependencies (pinned)",
    )


def library_snapshot(destination: Path, *, package: Path = PACKAGE) -> Path:
    """Copy the library's package (no caches, no compiled files) into ``destination``."""
    target = destination / package.name
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache"))
    return destination
