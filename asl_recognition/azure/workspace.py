"""The real gateway: an Azure ML SDK v1 ``Workspace`` and the calls made through it.

:func:`connect` authenticates (interactive browser login, the Azure CLI's login, or a service
principal through the SDK's own ``*Authentication`` classes) and opens the workspace from a
``config.json``, from the three names, or by searching for ``config.json``.
:class:`WorkspaceGateway` implements :class:`~asl_recognition.azure.gateway.AzureGateway`:
every method here performs network calls, and nothing else in the library does.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.gateway import (
    ChildRun,
    RegisteredData,
    RegisteredModel,
    ServiceInfo,
    SubmittedRun,
)
from asl_recognition.azure.settings import SECRET_ENV, AzureSettings, WorkspaceSettings
from asl_recognition.errors import ConfigurationError, DeploymentError, TrainingError

require_azureml()

from azureml.core import Dataset, Environment, Experiment, Model, Workspace  # noqa: E402
from azureml.core.authentication import (  # noqa: E402
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    ServicePrincipalAuthentication,
)
from azureml.core.compute import ComputeTarget  # noqa: E402
from azureml.core.webservice import Webservice  # noqa: E402
from azureml.exceptions import ComputeTargetException, WebserviceException  # noqa: E402

__all__ = ["WorkspaceGateway", "auth_arguments", "connect", "make_auth"]

log = logging.getLogger(__name__)

#: folder of the default datastore that uploaded datasets go to
DATASTORE_PREFIX = "asl-recognition/datasets"


def auth_arguments(
    settings: WorkspaceSettings, *, environ: Mapping[str, str] | None = None
) -> tuple[type | None, dict[str, Any]]:
    """The SDK authentication class and its keyword arguments (None: the SDK's default).

    Pure: builds nothing, so it can be checked offline. The service principal's secret comes
    from ``AZUREML_CLIENT_SECRET`` only, never from a config file.

    >>> cls, kwargs = auth_arguments(WorkspaceSettings(auth="cli"))
    >>> cls.__name__, kwargs
    ('AzureCliAuthentication', {})
    """
    env = os.environ if environ is None else environ
    if settings.auth is None:
        return None, {}
    if settings.auth == "cli":
        return AzureCliAuthentication, {}
    if settings.auth == "interactive":
        return InteractiveLoginAuthentication, ({"tenant_id": settings.tenant_id} if settings.tenant_id else {})
    secret = env.get(SECRET_ENV)
    if not secret:
        raise ConfigurationError(f"service_principal auth needs the secret in the environment variable {SECRET_ENV}")
    return ServicePrincipalAuthentication, {
        "tenant_id": settings.tenant_id,
        "service_principal_id": settings.client_id,
        "service_principal_password": secret,
    }


def make_auth(settings: WorkspaceSettings, *, environ: Mapping[str, str] | None = None) -> Any:
    """Build the SDK authentication object (interactive login happens here, in a browser)."""
    cls, kwargs = auth_arguments(settings, environ=environ)
    if cls is None:
        return None
    try:
        return cls(**kwargs)
    except Exception as exc:  # the SDK raises AuthenticationException for a missing azure-cli
        hint = (
            " (AzureCliAuthentication needs the Azure CLI: pip install azure-cli, then az login)"
            if (cls is AzureCliAuthentication)
            else ""
        )
        raise ConfigurationError(f"Azure authentication {settings.auth!r} failed: {exc}{hint}") from exc


def connect(settings: AzureSettings) -> WorkspaceGateway:
    """Authenticate and open the workspace that ``settings`` names."""
    ws_settings = settings.workspace
    auth = make_auth(ws_settings)
    try:
        if ws_settings.source == "names":
            ws = Workspace.get(
                name=ws_settings.workspace_name,
                subscription_id=ws_settings.subscription_id,
                resource_group=ws_settings.resource_group,
                auth=auth,
            )
        else:
            ws = Workspace.from_config(path=ws_settings.config_path, auth=auth)
    except Exception as exc:  # UserErrorException / ProjectSystemException / network errors
        raise ConfigurationError(
            f"cannot open the Azure ML workspace ({ws_settings.source}): {exc}. Give a config.json "
            "(azure.workspace.config_path or AZUREML_CONFIG) or subscription_id, resource_group "
            "and workspace_name (AZUREML_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP, "
            "AZUREML_WORKSPACE_NAME)"
        ) from exc
    log.info("azure: connected to workspace %s", ws.name)
    return WorkspaceGateway(ws)


def _fingerprint_of(dataset: Any) -> str | None:
    tags = getattr(dataset, "tags", None) or {}
    value = tags.get("fingerprint")
    return str(value) if value else None


class WorkspaceGateway:
    """:class:`~asl_recognition.azure.gateway.AzureGateway` over a real SDK v1 ``Workspace``."""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace

    # -- compute ----------------------------------------------------------------------------
    def get_compute(self, name: str) -> Any | None:
        try:
            return ComputeTarget(workspace=self.workspace, name=name)
        except ComputeTargetException:
            return None

    def create_compute(self, name: str, config: Any) -> Any:
        target = ComputeTarget.create(self.workspace, name, config)
        target.wait_for_completion(show_output=True)
        return target

    # -- data -------------------------------------------------------------------------------
    def _file_view(self, tabular: Any) -> Any:
        datastore = self.workspace.get_default_datastore()
        path = (tabular.tags or {}).get("datastore_path")
        if not path:
            raise TrainingError(f"dataset {tabular.name!r} has no 'datastore_path' tag")
        return Dataset.File.from_files(path=(datastore, path))

    def find_dataset(self, name: str, *, fingerprint: str) -> RegisteredData | None:
        if name not in self.workspace.datasets:
            return None
        latest = Dataset.get_by_name(self.workspace, name=name)
        if _fingerprint_of(latest) != fingerprint:
            return None
        return RegisteredData(name, latest.version, latest, self._file_view(latest), reused=True)

    def upload_dataset(self, csv_path: Path, *, name: str, description: str, tags: Mapping[str, str]) -> RegisteredData:
        datastore = self.workspace.get_default_datastore()
        folder = f"{DATASTORE_PREFIX}/{name}/{tags.get('fingerprint', 'data').split(':')[-1][:16]}"
        datastore.upload_files([str(csv_path)], target_path=folder, overwrite=True, show_progress=True)
        path = f"{folder}/{csv_path.name}"
        tabular = Dataset.Tabular.from_delimited_files(path=(datastore, path))
        tabular = tabular.register(
            workspace=self.workspace,
            name=name,
            description=description,
            tags={**tags, "datastore_path": path},
            create_new_version=True,
        )
        # one file: as_download()/as_mount() hand the script this file's path
        files = Dataset.File.from_files(path=(datastore, path))
        return RegisteredData(name, tabular.version, tabular, files, reused=False)

    def upload_wheel(self, wheel: Path) -> str:
        return str(Environment.add_private_pip_wheel(self.workspace, str(wheel), exist_ok=True))

    # -- runs -------------------------------------------------------------------------------
    def submit(self, experiment: str, config: Any, *, tags: Mapping[str, str]) -> SubmittedRun:
        run = Experiment(self.workspace, experiment).submit(config, tags=dict(tags))
        return SubmittedRun(run.id, experiment, run.get_portal_url(), run)

    def wait(self, run: SubmittedRun, *, show_output: bool) -> str:
        run.handle.wait_for_completion(show_output=show_output)
        return str(run.handle.get_status())

    @staticmethod
    def _child(run: Any) -> ChildRun:
        details = run.get_details()
        start, end = details.get("startTimeUtc"), details.get("endTimeUtc")
        duration = 0.0
        if start and end:
            from datetime import datetime

            def parse(stamp: Any) -> datetime:
                return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))

            duration = (parse(end) - parse(start)).total_seconds()
        return ChildRun(
            id=run.id,
            metrics=dict(run.get_metrics()),
            files=list(run.get_file_names()),
            arguments=[str(a) for a in details.get("runDefinition", {}).get("arguments", [])],
            properties=dict(run.properties or {}),
            status=str(run.get_status()),
            duration_s=duration,
            handle=run,
        )

    def best_child(self, run: SubmittedRun, *, metric: str) -> ChildRun:
        handle = run.handle
        if hasattr(handle, "get_best_run_by_primary_metric"):  # HyperDriveRun
            best = handle.get_best_run_by_primary_metric()
        else:  # AutoMLRun
            best = handle.get_best_child(metric=metric)
        if best is None:
            raise TrainingError(f"run {run.id} has no completed child run with metric {metric!r}")
        return self._child(best)

    def children(self, run: SubmittedRun) -> Sequence[ChildRun]:
        return [self._child(c) for c in run.handle.get_children()]

    def download(self, child: ChildRun, *, prefix: str, destination: Path) -> Path:
        destination.mkdir(parents=True, exist_ok=True)
        child.handle.download_files(prefix=prefix, output_directory=str(destination), append_prefix=True)
        return destination / prefix

    # -- models and services ----------------------------------------------------------------
    def register_model(self, path: Path, *, name: str, tags: Mapping[str, str], description: str) -> RegisteredModel:
        model = Model.register(
            workspace=self.workspace,
            model_path=str(path),
            model_name=name,
            tags=dict(tags),
            description=description,
        )
        return RegisteredModel(model.name, int(model.version), model.id, model)

    def deploy(
        self,
        *,
        name: str,
        models: Sequence[RegisteredModel],
        inference_config: Any,
        deployment_config: Any,
        overwrite: bool,
    ) -> Any:
        try:
            return Model.deploy(
                self.workspace,
                name,
                [m.handle for m in models],
                inference_config,
                deployment_config,
                overwrite=overwrite,
            )
        except WebserviceException as exc:
            raise DeploymentError(f"deploying {name!r} failed: {exc.message}") from exc

    def wait_for_deployment(self, service: Any, *, show_output: bool) -> None:
        deadline = time.monotonic()
        try:
            service.wait_for_deployment(show_output=show_output)
        except WebserviceException as exc:
            raise DeploymentError(
                f"deployment of {service.name!r} failed after {time.monotonic() - deadline:.0f} s: "
                f"{exc.message}\n--- service logs ---\n{service.get_logs()}"
            ) from exc

    def get_service(self, name: str) -> Any | None:
        try:
            return Webservice(self.workspace, name=name)
        except WebserviceException:
            return None

    def service_info(self, service: Any) -> ServiceInfo:
        service.update_deployment_state()
        return ServiceInfo(service.name, str(service.state), service.scoring_uri, service.swagger_uri)

    def service_logs(self, service: Any) -> str:
        return str(service.get_logs())

    def service_keys(self, service: Any) -> tuple[str, str]:
        primary, secondary = service.get_keys()
        return str(primary), str(secondary)

    def update_service(self, service: Any, changes: Mapping[str, Any]) -> None:
        service.update(**dict(changes))
        service.wait_for_deployment(show_output=False)

    def delete_service(self, service: Any) -> None:
        try:
            service.delete()
        except WebserviceException as exc:
            raise DeploymentError(f"deleting {service.name!r} failed: {exc.message}") from exc
