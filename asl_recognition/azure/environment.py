"""Azure ML ``Environment`` objects built from the library's own pinned dependencies.

:func:`~asl_recognition.azure.requirements.pinned_requirements` (shared with the SDK v2
adapter) reads this library's requirements (core plus the chosen extras) from its installed
metadata and pins each to the version installed here, so the cloud job runs with what was
tested locally. :func:`build_environment` adds the library itself as a private pip wheel
(uploaded through the gateway) and returns a real ``azureml.core.Environment``.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.gateway import AzureGateway
from asl_recognition.azure.requirements import DISTRIBUTION, pinned_requirements
from asl_recognition.errors import ConfigurationError

require_azureml()

from azureml.core import Environment  # noqa: E402
from azureml.core.conda_dependencies import CondaDependencies  # noqa: E402

__all__ = ["DISTRIBUTION", "build_environment", "pinned_requirements"]

log = logging.getLogger(__name__)


def build_environment(
    name: str,
    *,
    gateway: AzureGateway | None,
    wheel: str | Path | None,
    extras: Sequence[str] = (),
    extra_pip: Sequence[str] = (),
    python_version: str | None = None,
    docker_image: str | None = None,
) -> Any:
    """An ``Environment`` with the pinned requirements, plus this library as a private wheel.

    Args:
        name: environment name in the workspace.
        gateway: uploads ``wheel`` (a network call); None leaves the wheel out.
        wheel: path of this library's built wheel (``python -m build --wheel``).
        extras: extras whose requirements to include (``keras`` for training, ``serve`` for
            scoring).
        extra_pip: further pip requirements (e.g. ``azureml-defaults`` for web services).
        python_version: conda Python version (default: this interpreter's major.minor).
        docker_image: base image (default: the SDK's default CPU image).
    """
    pip = pinned_requirements(extras=extras) + list(extra_pip)
    if wheel is not None:
        path = Path(wheel)
        if not path.is_file() or path.suffix != ".whl":
            raise ConfigurationError(f"wheel {path} does not exist or is not a .whl file")
        if gateway is None:
            raise ConfigurationError("uploading the library wheel needs a workspace gateway")
        pip.append(gateway.upload_wheel(path))
    env = Environment(name=name)
    env.python.conda_dependencies = CondaDependencies.create(
        python_version=python_version or ".".join(platform.python_version_tuple()[:2]),
        pip_packages=pip,
        pin_sdk_version=False,
    )
    if docker_image:
        env.docker.base_image = docker_image
    log.info("azure: environment %s with %d pip requirements", name, len(pip))
    return env
