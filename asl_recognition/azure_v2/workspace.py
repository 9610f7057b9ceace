"""Opening a workspace with SDK v2: a credential and an ``MLClient``.

:func:`credential` picks the ``azure-identity`` credential for the shared ``auth`` setting
(``DefaultAzureCredential`` when unset: environment, managed identity, Azure CLI, ...).
:func:`connect` builds the ``MLClient`` (``MLClient.from_config`` for a ``config.json``) and,
with ``check=True``, asks for the workspace once, so a wrong name or a missing login fails here
in one line, before a job loads data. Every later network call goes through the client's
operation objects (``client.jobs``, ``client.data``, ``client.compute``, ...); the offline tests
replace exactly those.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from asl_recognition.azure.settings import SECRET_ENV, AzureSettings, WorkspaceSettings
from asl_recognition.azure_v2._sdk import require_azure_ai_ml
from asl_recognition.azure_v2.settings import WorkspaceRef, resolve_workspace
from asl_recognition.errors import ConfigurationError

require_azure_ai_ml()

from azure.ai.ml import MLClient  # noqa: E402
from azure.identity import (  # noqa: E402
    AzureCliCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    InteractiveBrowserCredential,
)

__all__ = ["check_workspace", "connect", "credential", "first_line"]

log = logging.getLogger(__name__)


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an SDK error (their messages continue with pages of JSON)."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def credential(settings: WorkspaceSettings, *, environ: Mapping[str, str] | None = None) -> Any:
    """The ``azure-identity`` credential for ``settings.auth`` (None: ``DefaultAzureCredential``).

    >>> type(credential(WorkspaceSettings(auth="cli"))).__name__
    'AzureCliCredential'
    """
    env = os.environ if environ is None else environ
    if settings.auth is None:
        return DefaultAzureCredential()
    if settings.auth == "cli":
        return AzureCliCredential()
    if settings.auth == "interactive":
        return InteractiveBrowserCredential(**({"tenant_id": settings.tenant_id} if settings.tenant_id else {}))
    secret = env.get(SECRET_ENV) or env.get("AZURE_CLIENT_SECRET")
    if not secret:
        raise ConfigurationError(
            f"service_principal auth needs the secret in the environment variable {SECRET_ENV} (or AZURE_CLIENT_SECRET)"
        )
    return ClientSecretCredential(str(settings.tenant_id), str(settings.client_id), secret)


def check_workspace(client: Any, ref: WorkspaceRef) -> None:
    """Fetch the workspace once; any failure becomes one :class:`ConfigurationError` line."""
    try:
        client.workspaces.get(ref.workspace_name)
    except Exception as exc:  # HttpResponseError, ClientAuthenticationError, network errors
        raise ConfigurationError(
            f"cannot open Azure ML workspace {ref.workspace_name!r} (subscription {ref.subscription_id}, "
            f"resource group {ref.resource_group}, from {ref.config_path or 'azure.workspace'}): {first_line(exc)}"
        ) from exc


def connect(settings: AzureSettings, *, check: bool = True, credential_override: Any = None) -> MLClient:
    """An ``MLClient`` for the workspace ``settings`` name (checked with one call if ``check``)."""
    ref = resolve_workspace(settings.workspace)
    cred = credential_override if credential_override is not None else credential(settings.workspace)
    if ref.config_path is not None:
        client = MLClient.from_config(cred, path=ref.config_path)
    else:
        client = MLClient(cred, ref.subscription_id, ref.resource_group, ref.workspace_name)
    if check:
        check_workspace(client, ref)
    log.info("azure v2: connected to workspace %s", ref.workspace_name)
    return client
