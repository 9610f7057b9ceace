"""Choosing the Azure ML SDK of the cloud trainers (``azure_sdk``: ``"v2"``, the default, or ``"v1"``).

Both SDKs read the same ``azure`` settings. For SDK v2 the workspace is resolved when the
trainer is built (:func:`asl_recognition.azure_v2.settings.resolve_workspace`: a missing field
is named at once) and checked by :func:`connect_v2` in the trainer's ``preflight``, which the
main job runs before it loads any data; SDK v1 connects in ``fit``, as it always did.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from asl_recognition._validation import StrOptions, check_param

__all__ = ["AzureSdk", "SDKS", "connect_v2", "load_azure_settings"]

AzureSdk = Literal["v2", "v1"]
SDKS: tuple[str, ...] = ("v2", "v1")


def load_azure_settings(azure: Mapping[str, Any] | str | os.PathLike[str] | None, sdk: str) -> Any:
    """The shared Azure settings, validated for ``sdk`` (v2: the workspace resolved too)."""
    check_param("azure_sdk", sdk, StrOptions(SDKS))
    if sdk == "v1":
        from asl_recognition.azure.settings import load_settings

        return load_settings(azure)
    from asl_recognition.azure_v2 import load_settings as load_v2
    from asl_recognition.azure_v2 import require_azure_ai_ml, resolve_workspace

    require_azure_ai_ml()
    settings = load_v2(azure)
    resolve_workspace(settings.workspace)
    return settings


def connect_v2(settings: Any, client: Any) -> Any:
    """``client`` (or, if None, a new ``MLClient`` for ``settings``) with the workspace checked."""
    from asl_recognition.azure_v2 import resolve_workspace
    from asl_recognition.azure_v2.workspace import check_workspace, connect

    if client is None:
        return connect(settings)
    check_workspace(client, resolve_workspace(settings.workspace))
    return client
