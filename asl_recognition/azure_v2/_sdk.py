"""The one guard in front of every ``azure.ai.ml`` import.

Modules of :mod:`asl_recognition.azure_v2` that use the SDK call :func:`require_azure_ai_ml`
before importing it, so a missing SDK raises
:class:`~asl_recognition.errors.MissingDependencyError` with the install command instead of a
bare ``ImportError``.
"""

from __future__ import annotations

from asl_recognition.azure._sdk import INSTALL_HINT, require_modules

__all__ = ["INSTALL_HINT", "require_azure_ai_ml"]


def require_azure_ai_ml(what: str = "the Azure ML v2 backends") -> None:
    """Raise :class:`MissingDependencyError` unless azure-ai-ml and azure-identity are importable.

    >>> require_azure_ai_ml()  # installed in the development environment
    """
    require_modules(("azure.ai.ml", "azure.identity"), what=what, sdk="Azure ML SDK v2")
