"""Which workspace the SDK v2 backends use, resolved offline (no SDK import, no network).

The settings are the same :class:`~asl_recognition.azure.settings.AzureSettings` as SDK v1's
(the ``azure`` config group), and the same ``config.json`` works for both. SDK v2 also reads
the standard environment variables of the Azure tools:

===========================  =============================================================
``AZURE_SUBSCRIPTION_ID``    subscription (``AZUREML_SUBSCRIPTION_ID`` wins if both are set)
``AZURE_RESOURCE_GROUP``     resource group (``AZUREML_RESOURCE_GROUP`` wins)
``AZUREML_WORKSPACE_NAME``   workspace name
===========================  =============================================================

:func:`resolve_workspace` turns the settings into the three names (reading ``config.json``
where one is given or found in the working directory or a parent, like
``MLClient.from_config``) and fails with a :class:`ConfigurationError` that names each missing
field, so a job without a workspace stops before it loads any data.

>>> ref = resolve_workspace(load_settings({}, environ={
...     "AZURE_SUBSCRIPTION_ID": "sub", "AZURE_RESOURCE_GROUP": "rg", "AZUREML_WORKSPACE_NAME": "ws"}).workspace)
>>> ref.subscription_id, ref.resource_group, ref.workspace_name, ref.source
('sub', 'rg', 'ws', 'names')
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asl_recognition.azure import settings as v1_settings
from asl_recognition.azure.settings import AzureSettings, WorkspaceSettings
from asl_recognition.errors import ConfigurationError

__all__ = ["ENV_ALIASES", "WorkspaceRef", "find_config", "load_settings", "resolve_workspace"]

#: standard Azure environment variable -> the AZUREML_* variable of the shared settings it fills
ENV_ALIASES: dict[str, str] = {
    "AZURE_SUBSCRIPTION_ID": "AZUREML_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP": "AZUREML_RESOURCE_GROUP",
}
_FIELDS = ("subscription_id", "resource_group", "workspace_name")
_ENV_OF = {"subscription_id": "AZURE_SUBSCRIPTION_ID", "resource_group": "AZURE_RESOURCE_GROUP",
           "workspace_name": "AZUREML_WORKSPACE_NAME"}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class WorkspaceRef:
    """The three names of a workspace, and where they came from (``config`` or ``names``)."""

    subscription_id: str
    resource_group: str
    workspace_name: str
    source: str
    config_path: str | None = None


def load_settings(
    source: Mapping[str, Any] | str | os.PathLike[str] | None, *, environ: Mapping[str, str] | None = None
) -> AzureSettings:
    """:func:`asl_recognition.azure.settings.load_settings` with the :data:`ENV_ALIASES` read too."""
    env = dict(os.environ if environ is None else environ)
    for standard, shared in ENV_ALIASES.items():
        if env.get(standard) and not env.get(shared):
            env[shared] = env[standard]
    try:
        return v1_settings.load_settings(source, environ=env)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{exc} (SDK v2 also reads {', '.join(_ENV_OF.values())})") from None


def find_config(start: Path | None = None) -> Path | None:
    """``config.json`` or ``.azureml/config.json`` in ``start`` (default: cwd) or a parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for candidate in (folder / "config.json", folder / ".azureml" / "config.json"):
            if candidate.is_file():
                return candidate
    return None


def _read_config(path: Path) -> WorkspaceRef:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Azure ML workspace config {path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"Azure ML workspace config {path}: expected a JSON object")
    # the portal writes resource_group; older files and the CLI also use these spellings
    values = {
        "subscription_id": data.get("subscription_id") or data.get("Id"),
        "resource_group": data.get("resource_group") or data.get("Resource Group"),
        "workspace_name": data.get("workspace_name") or data.get("Workspace"),
    }
    missing = [f for f in _FIELDS if not isinstance(values[f], str) or not values[f]]
    if missing:
        raise ConfigurationError(
            f"Azure ML workspace config {path}: missing {', '.join(missing)} "
            "(download config.json from the workspace's page in the Azure portal)"
        )
    return WorkspaceRef(**{f: str(values[f]) for f in _FIELDS}, source="config", config_path=str(path))


def resolve_workspace(settings: WorkspaceSettings, *, cwd: Path | None = None) -> WorkspaceRef:
    """The workspace ``settings`` name: from ``config_path``, the three names, or a found config.json.

    Raises:
        ConfigurationError: naming every missing field and where it can be set.
    """
    if settings.source == "config" and settings.config_path:
        return _read_config(Path(settings.config_path))
    if settings.source == "names":
        return WorkspaceRef(
            str(settings.subscription_id), str(settings.resource_group), str(settings.workspace_name), "names"
        )
    found = find_config(cwd)
    if found is not None:
        return _read_config(found)
    where = cwd or Path.cwd()
    raise ConfigurationError(
        "no Azure ML workspace: azure.workspace.subscription_id, resource_group and workspace_name are "
        f"not set ({', '.join(_ENV_OF.values())}) and no config.json was found in {where} or its parents; "
        "set them, or azure.workspace.config_path (AZUREML_CONFIG) to the config.json from the Azure portal"
    )
