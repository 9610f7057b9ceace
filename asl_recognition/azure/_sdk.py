"""The one guard in front of every ``azureml`` import.

Modules of :mod:`asl_recognition.azure` that use the SDK call :func:`require_azureml` before
importing it, so a missing SDK raises :class:`MissingDependencyError` with the install command
instead of a bare ``ImportError``.
"""

from __future__ import annotations

import importlib.util

from asl_recognition.errors import MissingDependencyError

__all__ = ["INSTALL_HINT", "require_azureml", "require_modules"]

INSTALL_HINT = 'pip install "asl-recognition[azure]"'


def require_modules(modules: tuple[str, ...], *, what: str, sdk: str) -> None:
    """Raise :class:`MissingDependencyError` naming the first of ``modules`` that is missing."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise MissingDependencyError(
                f"{what} need the {sdk} ({module} is not installed); install it with: {INSTALL_HINT}"
            )


def require_azureml(what: str = "the Azure backends") -> None:
    """Raise :class:`MissingDependencyError` unless azureml-core is importable.

    >>> require_azureml()  # installed in the development environment
    """
    require_modules(("azureml.core", "azureml.train"), what=what, sdk="Azure ML SDK v1")
