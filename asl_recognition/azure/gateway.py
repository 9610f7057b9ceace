"""The network boundary: every call that talks to Azure ML goes through an :class:`AzureGateway`.

The rest of :mod:`asl_recognition.azure` builds real SDK configuration objects offline and
passes them to these methods. :class:`~asl_recognition.azure.workspace.WorkspaceGateway` is the
SDK v1 implementation; tests use a double that records what it is given and replays a
realistic result. Results crossing the boundary are the small dataclasses below, each keeping
the SDK object (``handle``) for the gateway's own later calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AzureGateway",
    "ChildRun",
    "RegisteredData",
    "RegisteredModel",
    "ServiceInfo",
    "SubmittedRun",
]


@dataclasses.dataclass
class SubmittedRun:
    """An experiment run that was submitted (AutoML, HyperDrive or a script run)."""

    id: str
    experiment: str
    portal_url: str | None = None
    handle: Any = None


@dataclasses.dataclass
class ChildRun:
    """One finished child run (the best one, or one row of the trial table)."""

    id: str
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    files: list[str] = dataclasses.field(default_factory=list)
    arguments: list[str] = dataclasses.field(default_factory=list)
    properties: dict[str, Any] = dataclasses.field(default_factory=dict)
    status: str = "Completed"
    duration_s: float = 0.0
    handle: Any = None


@dataclasses.dataclass
class RegisteredData:
    """A dataset registered in the workspace (tabular view, and a file view for scripts)."""

    name: str
    version: int | None
    tabular: Any
    files: Any
    reused: bool = False


@dataclasses.dataclass
class RegisteredModel:
    """A model registered in the workspace."""

    name: str
    version: int
    id: str
    handle: Any = None


@dataclasses.dataclass
class ServiceInfo:
    """What a deployed web service reports about itself."""

    name: str
    state: str
    scoring_uri: str | None
    swagger_uri: str | None


@runtime_checkable
class AzureGateway(Protocol):
    """The only methods that perform network calls to Azure ML."""

    # compute
    def get_compute(self, name: str) -> Any | None:
        """The compute target ``name``, or None if the workspace has none of that name."""
        ...

    def create_compute(self, name: str, config: Any) -> Any:
        """Create compute ``name`` from a provisioning configuration and wait for it."""
        ...

    # data
    def find_dataset(self, name: str, *, fingerprint: str) -> RegisteredData | None:
        """The registered dataset ``name`` whose ``fingerprint`` tag matches, if any."""
        ...

    def upload_dataset(self, csv_path: Path, *, name: str, description: str, tags: Mapping[str, str]) -> RegisteredData:
        """Upload a CSV to the default datastore and register it as a tabular dataset."""
        ...

    # environments
    def upload_wheel(self, wheel: Path) -> str:
        """Upload a wheel as a private pip package; return its URL for pip."""
        ...

    # runs
    def submit(self, experiment: str, config: Any, *, tags: Mapping[str, str]) -> SubmittedRun:
        """Submit ``config`` (AutoMLConfig, HyperDriveConfig, ScriptRunConfig) to ``experiment``."""
        ...

    def wait(self, run: SubmittedRun, *, show_output: bool) -> str:
        """Block until ``run`` finishes (streaming its progress); return its final status."""
        ...

    def best_child(self, run: SubmittedRun, *, metric: str) -> ChildRun:
        """The child run with the best ``metric``."""
        ...

    def children(self, run: SubmittedRun) -> Sequence[ChildRun]:
        """Every child run (for the trial table)."""
        ...

    def download(self, child: ChildRun, *, prefix: str, destination: Path) -> Path:
        """Download the files under ``prefix`` of ``child`` into ``destination``."""
        ...

    # models and services
    def register_model(self, path: Path, *, name: str, tags: Mapping[str, str], description: str) -> RegisteredModel:
        """Register a local model file or folder."""
        ...

    def deploy(
        self,
        *,
        name: str,
        models: Sequence[RegisteredModel],
        inference_config: Any,
        deployment_config: Any,
        overwrite: bool,
    ) -> Any:
        """Start deploying ``models`` as web service ``name``; return the service handle."""
        ...

    def wait_for_deployment(self, service: Any, *, show_output: bool) -> None:
        """Block until the deployment finished (successfully or not)."""
        ...

    def get_service(self, name: str) -> Any | None:
        """The web service ``name``, or None."""
        ...

    def service_info(self, service: Any) -> ServiceInfo:
        """Name, state and URIs of ``service``."""
        ...

    def service_logs(self, service: Any) -> str:
        """The container logs of ``service``."""
        ...

    def service_keys(self, service: Any) -> tuple[str, str]:
        """Primary and secondary authentication keys of ``service``."""
        ...

    def update_service(self, service: Any, changes: Mapping[str, Any]) -> None:
        """Update ``service`` in place (e.g. ``inference_config``, ``models``, ``auth_enabled``)."""
        ...

    def delete_service(self, service: Any) -> None:
        """Delete ``service``."""
        ...
