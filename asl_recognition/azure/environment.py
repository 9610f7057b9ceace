"""Azure ML ``Environment`` objects built from the library's own pinned dependencies.

:func:`pinned_requirements` reads this library's requirements (core plus the chosen extras)
from its installed metadata and pins each to the version installed here, so the cloud job runs
with what was tested locally. :func:`build_environment` adds the library itself as a private
pip wheel (uploaded through the gateway) and returns a real ``azureml.core.Environment``.

>>> reqs = pinned_requirements(extras=())
>>> any(r.startswith("numpy==") for r in reqs)
True
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.gateway import AzureGateway
from asl_recognition.errors import ConfigurationError

require_azureml()

from azureml.core import Environment  # noqa: E402
from azureml.core.conda_dependencies import CondaDependencies  # noqa: E402

__all__ = ["DISTRIBUTION", "build_environment", "pinned_requirements"]

log = logging.getLogger(__name__)

DISTRIBUTION = "asl-recognition"
# Installed-under-another-name equivalents (the CPU wheel of TensorFlow provides "tensorflow").
_ALIASES = {"tensorflow": ("tensorflow", "tensorflow-cpu")}


def _installed_version(name: str) -> str | None:
    for candidate in _ALIASES.get(name, (name,)):
        try:
            return md.version(candidate)
        except md.PackageNotFoundError:
            continue
    return None


def pinned_requirements(*, extras: Iterable[str] = (), distribution: str = DISTRIBUTION) -> list[str]:
    """Requirements of the core and ``extras``, pinned (``==``) to the installed versions.

    Requirements that are not installed here keep their declared range.
    """
    from packaging.requirements import Requirement

    wanted = set(extras)
    try:
        declared = md.requires(distribution) or []
    except md.PackageNotFoundError as exc:
        raise ConfigurationError(f"{distribution} is not installed; cannot read its requirements") from exc
    out: dict[str, str] = {}
    for text in declared:
        req = Requirement(text)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in wanted):
            continue
        version = _installed_version(req.name)
        out[req.name] = f"{req.name}=={version}" if version else f"{req.name}{req.specifier}"
    return sorted(out.values())


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
