"""This library's requirements pinned to the installed versions (no SDK import).

Both Azure adapters (SDK v1 :mod:`asl_recognition.azure.environment`, SDK v2
:mod:`asl_recognition.azure_v2.environment`) build their cloud environments from this list, so
a cloud job runs with what was tested locally.

>>> reqs = pinned_requirements(extras=())
>>> any(r.startswith("numpy==") for r in reqs)
True
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable

from asl_recognition.errors import ConfigurationError

__all__ = ["DISTRIBUTION", "pinned_requirements"]

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
