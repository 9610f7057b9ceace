"""The one guard in front of every ``azure.ai.ml`` import.

Modules of :mod:`asl_recognition.azure_v2` that use the SDK call :func:`require_azure_ai_ml`
before importing it, so a missing SDK raises :class:`MissingDependencyError` with the install
command instead of a bare ``ImportError``.
"""

from __future__ import annotations

import importlib.util

from asl_recognition.errors import MissingDependencyError

__all__ = ["INSTALL_HINT", "require_azure_ai_ml"]

INSTALL_HINT = 'pip install "asl-recognition[azure]"'


def require_azure_ai_ml(what: str = "the Azure ML v2 backends") -> None:
    """Raise :class:`MissingDependencyError` unless azure-ai-ml and azure-identity are importable.

    >>> require_azure_ai_ml()  # installed in the development environment
    """
    for module in ("azure.ai.ml", "azure.identity"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise MissingDependencyError(
                f"{what} need the Azure ML SDK v2 ({module} is not installed); install it with: {INSTALL_HINT}"
            )
