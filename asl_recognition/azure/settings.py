"""Typed, validated Azure settings (workspace, authentication, compute), without importing azureml.

Settings come from a mapping (the composed ``azure`` config group, ``conf/azure/*.yaml``), with the workspace
filled in from environment variables where the mapping leaves it empty:

==========================  ==================================================
``AZUREML_SUBSCRIPTION_ID``  subscription of the workspace
``AZUREML_RESOURCE_GROUP``   resource group of the workspace
``AZUREML_WORKSPACE_NAME``   workspace name
``AZUREML_CONFIG``           path of a ``config.json`` (``Workspace.from_config``)
``AZUREML_AUTH``             ``interactive`` | ``cli`` | ``service_principal``
``AZUREML_TENANT_ID``        tenant (interactive and service principal)
``AZUREML_CLIENT_ID``        service principal (application) id
``AZUREML_CLIENT_SECRET``    service principal secret (never stored in a config)
==========================  ==================================================

>>> s = AzureSettings.from_mapping({"workspace": {"subscription_id": "sub", "resource_group": "rg",
...     "workspace_name": "ws"}}, environ={})
>>> s.workspace.source, s.compute.idle_seconds_before_scaledown
('names', 1800)
>>> AzureSettings.from_mapping({"compute": {"idle_seconds_before_scaledown": None}},
...     environ={})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
asl_recognition.errors.ConfigurationError: azure.compute.idle_seconds_before_scaledown ...
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from asl_recognition._validation import Interval, StrOptions, Text, check_param
from asl_recognition.errors import ConfigurationError

__all__ = [
    "AUTH_KINDS",
    "ENV_VARS",
    "AzureSettings",
    "ComputeSettings",
    "WorkspaceSettings",
    "load_settings",
]

AuthKind = Literal["interactive", "cli", "service_principal"]
AUTH_KINDS: tuple[str, ...] = ("interactive", "cli", "service_principal")

#: environment variable -> workspace settings field it fills
ENV_VARS: dict[str, str] = {
    "AZUREML_SUBSCRIPTION_ID": "subscription_id",
    "AZUREML_RESOURCE_GROUP": "resource_group",
    "AZUREML_WORKSPACE_NAME": "workspace_name",
    "AZUREML_CONFIG": "config_path",
    "AZUREML_AUTH": "auth",
    "AZUREML_TENANT_ID": "tenant_id",
    "AZUREML_CLIENT_ID": "client_id",
}
SECRET_ENV = "AZUREML_CLIENT_SECRET"


def _section(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}.{key} must be a mapping, got {value!r}")
    return dict(value)


def _build(cls: type[Any], values: Mapping[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {unknown}; accepted: {sorted(names)}")
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class WorkspaceSettings:
    """Which workspace to use and how to authenticate.

    Either ``config_path`` (a ``config.json`` as downloaded from the Azure portal) or all three
    of ``subscription_id``, ``resource_group`` and ``workspace_name``. With neither,
    ``Workspace.from_config()`` searches the current directory and its parents (``auto``).
    """

    subscription_id: str | None = None
    resource_group: str | None = None
    workspace_name: str | None = None
    config_path: str | None = None
    auth: AuthKind | None = None
    tenant_id: str | None = None
    client_id: str | None = None

    def __post_init__(self) -> None:
        names = (self.subscription_id, self.resource_group, self.workspace_name)
        if any(names) and not all(names):
            missing = [
                f for f, v in zip(("subscription_id", "resource_group", "workspace_name"), names, strict=True) if not v
            ]
            raise ConfigurationError(
                f"azure.workspace: {', '.join(missing)} missing (set it in the config or through "
                f"{', '.join(k for k, v in ENV_VARS.items() if v in missing)}), "
                "or give config_path to a config.json instead"
            )
        check_param("auth", self.auth, StrOptions(AUTH_KINDS), None, where="azure.workspace", error=ConfigurationError)
        if self.auth == "service_principal":
            for field in ("tenant_id", "client_id"):
                if not getattr(self, field):
                    env = next(k for k, v in ENV_VARS.items() if v == field)
                    raise ConfigurationError(
                        f"azure.workspace.{field} is required for service_principal auth (or set {env})"
                    )
        if self.config_path is not None and not Path(self.config_path).is_file():
            raise ConfigurationError(f"azure.workspace.config_path: {self.config_path} does not exist")

    @property
    def source(self) -> Literal["config", "names", "auto"]:
        """``config`` (a config.json path), ``names`` (the three names) or ``auto`` (search)."""
        if self.config_path:
            return "config"
        return "names" if self.workspace_name else "auto"


# VM sizes of the seed study: a GPU cluster (10 x NC6); CPU is the cheap default.
_DEFAULT_VM = {True: "STANDARD_NC6S_V3", False: "STANDARD_DS3_V2"}


@dataclasses.dataclass(frozen=True)
class ComputeSettings:
    """An AmlCompute cluster to create or reuse.

    ``idle_seconds_before_scaledown`` is required and may not be None: an idle cluster that
    never scales down is the classic surprise on an Azure bill.
    """

    name: str = "asl-cpu-cluster"
    vm_size: str | None = None
    gpu: bool = False
    min_nodes: int = 0
    max_nodes: int = 4
    idle_seconds_before_scaledown: int | None = 1800
    vm_priority: Literal["dedicated", "lowpriority"] = "dedicated"

    def __post_init__(self) -> None:
        check_param("name", self.name, Text(2, 16), hint="(an AmlCompute limit)", where="azure.compute",
                    error=ConfigurationError)
        if self.idle_seconds_before_scaledown is None:
            raise ConfigurationError(
                "azure.compute.idle_seconds_before_scaledown is required (not None): an idle "
                "cluster that never scales down keeps costing money; e.g. 1800"
            )
        for field, low in (
            ("min_nodes", 0),
            ("max_nodes", 1),
            ("idle_seconds_before_scaledown", 0),
        ):
            check_param(field, getattr(self, field), Interval(int, low, None), where="azure.compute",
                        error=ConfigurationError)
        if self.min_nodes > self.max_nodes:
            raise ConfigurationError(f"azure.compute.min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        check_param("vm_priority", self.vm_priority, StrOptions(["dedicated", "lowpriority"]),
                    where="azure.compute", error=ConfigurationError)

    @property
    def resolved_vm_size(self) -> str:
        """``vm_size``, or the default CPU/GPU size."""
        return self.vm_size or _DEFAULT_VM[bool(self.gpu)]


@dataclasses.dataclass(frozen=True)
class AzureSettings:
    """Everything the Azure backends share: workspace, compute, experiment and dataset names."""

    workspace: WorkspaceSettings = WorkspaceSettings()
    compute: ComputeSettings = ComputeSettings()
    experiment_name: str = "asl-recognition"
    dataset_name: str = "sign-language-mnist"
    show_output: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, *, environ: Mapping[str, str] | None = None) -> AzureSettings:
        """Validate ``data`` (keys ``workspace``, ``compute``, ``experiment_name``,
        ``dataset_name``, ``show_output``); empty workspace fields come from ``environ``."""
        data = dict(data or {})
        env = os.environ if environ is None else environ
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"azure: unknown key(s) {unknown}; accepted: {sorted(known)}")
        ws = _section(data, "workspace", "azure")
        for var, field in ENV_VARS.items():
            if not ws.get(field) and env.get(var):
                ws[field] = env[var]
        workspace = _build(WorkspaceSettings, ws, "azure.workspace")
        compute = _build(ComputeSettings, _section(data, "compute", "azure"), "azure.compute")
        rest = {k: data[k] for k in ("experiment_name", "dataset_name", "show_output") if k in data}
        for key in ("experiment_name", "dataset_name"):
            if key in rest and (not isinstance(rest[key], str) or not rest[key]):
                raise ConfigurationError(f"azure.{key} must be a non-empty string, got {rest[key]!r}")
        return cls(workspace=workspace, compute=compute, **rest)


def load_settings(
    source: Mapping[str, Any] | str | os.PathLike[str] | None,
    *,
    environ: Mapping[str, str] | None = None,
) -> AzureSettings:
    """Settings from a mapping, a YAML file path (e.g. ``conf/azure/default.yaml``), the name of a
    shipped ``conf/azure`` option (``"default"``) or None (defaults plus ``AZUREML_*``).

    Files are read by the library's one config loader (:func:`asl_recognition.config.load_config`:
    composed by Hydra, checked against these dataclasses' schema).
    """
    if source is None or isinstance(source, Mapping):
        return AzureSettings.from_mapping(source, environ=environ)
    from asl_recognition.config import load_config

    return AzureSettings.from_mapping(load_config("azure", source, schema=AzureSettings), environ=environ)
