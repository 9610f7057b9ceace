"""The ``aci`` deployer: a saved model as an Azure Container Instances web service (SDK v1).

The model directory (any backend's saved :class:`~asl_recognition.models.base.TrainedModel`) is
registered with ``Model.register``, with the installed hand models bundled beside it
(:func:`~asl_recognition.photo.hand_models.bundle_hand_models`: the container cannot fetch
them, and the photo preprocessing and pose features need them). The service runs the
library's one scoring script, ``asl_recognition/deploy/score.py``, in an ``Environment`` built
from the library's pinned ``serve`` requirements plus the library wheel.

This module decides what is deployed; the Azure adapter (:mod:`asl_recognition.azure`) builds
the SDK objects and makes every call, through the workspace gateway. ``AciService.run`` posts
to the scoring URI with the service key, like any client would.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition._validation import Interval, Text, check_param
from asl_recognition.errors import ConfigurationError, DeploymentError, ModelFormatError

if TYPE_CHECKING:
    from asl_recognition.azure.gateway import AzureGateway, RegisteredModel

__all__ = ["ENTRY_SCRIPT", "AciDeployer", "AciService", "AciSettings", "deploy_model"]

logger = logging.getLogger(__name__)

#: the scoring script every deployment runs (in this package's folder)
ENTRY_SCRIPT = "score.py"


@dataclasses.dataclass(frozen=True)
class AciSettings:
    """Container size and service options (``conf/deployer/aci.yaml``).

    The fields are the keywords of the ACI deployment configuration
    (:func:`asl_recognition.azure.services.aci_deployment_config`).
    """

    cpu_cores: float = 1
    memory_gb: float = 1
    auth_enabled: bool = True
    enable_app_insights: bool = False
    location: str | None = None
    description: str = "ASL fingerspelling recogniser (asl_recognition)"
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for field in ("cpu_cores", "memory_gb"):
            check_param(field, getattr(self, field), Interval(float, 0, None, closed="neither"), where="aci",
                        error=ConfigurationError)
        if not self.auth_enabled:
            logger.warning("aci: auth_enabled=False exposes the scoring endpoint without a key")


def _scoring_source() -> Path:
    """The folder holding :data:`ENTRY_SCRIPT` (uploaded as the service's source directory)."""
    from asl_recognition.deploy import score

    return Path(score.__file__).resolve().parent


def deploy_model(
    gateway: AzureGateway,
    model_dir: Path,
    *,
    name: str,
    settings: AciSettings,
    wheel: str | Path | None,
    environment_name: str = "asl-recognition-serve",
    overwrite: bool = True,
    show_output: bool = True,
) -> tuple[Any, RegisteredModel]:
    """Register ``model_dir``, deploy it as ACI service ``name`` and wait until it is up."""
    from asl_recognition.models import read_metadata

    try:
        meta = read_metadata(model_dir)
    except ModelFormatError as exc:
        raise ConfigurationError(f"cannot deploy {model_dir}: {exc}") from exc
    from asl_recognition.azure import services
    from asl_recognition.azure.environment import build_environment
    from asl_recognition.photo.hand_models import bundle_hand_models

    with tempfile.TemporaryDirectory(prefix="asl-deploy-") as tmp:
        staged = Path(tmp) / model_dir.name
        shutil.copytree(model_dir, staged)
        bundle_hand_models(staged)
        registered = gateway.register_model(
            staged,
            name=f"asl-{meta.backend}",
            tags={"backend": meta.backend, "model_type": meta.model_type},
            description=f"asl_recognition {meta.backend} model",
        )
    env = build_environment(
        # images: scikit-image, for HOG models and the photo localizer's face finder
        environment_name, gateway=gateway, wheel=wheel, extras=("serve", "images"), extra_pip=("azureml-defaults",)
    )
    service = services.deploy_service(
        gateway,
        name=name,
        models=[registered],
        inference_config=services.inference_config(
            source_directory=_scoring_source(), entry_script=ENTRY_SCRIPT, environment=env
        ),
        deployment_config=services.aci_deployment_config(**dataclasses.asdict(settings)),
        overwrite=overwrite,
        show_output=show_output,
    )
    return service, registered


class AciService:
    """A deployed ACI web service (satisfies :class:`~asl_recognition.deploy.base.Service`)."""

    def __init__(self, gateway: AzureGateway, handle: Any, *, name: str) -> None:
        self._gateway = gateway
        self._handle = handle
        self._name = name
        self._deleted = False

    @property
    def name(self) -> str:
        """Service name."""
        return self._name

    @property
    def scoring_uri(self) -> str:
        """URL that accepts POSTed scoring requests."""
        uri = self._gateway.service_info(self._handle).scoring_uri
        if not uri:
            raise DeploymentError(f"service {self._name!r} has no scoring URI (state {self.state})")
        return uri

    @property
    def swagger_uri(self) -> str | None:
        """URL of the OpenAPI document."""
        return self._gateway.service_info(self._handle).swagger_uri

    @property
    def state(self) -> str:
        """``Healthy``, ``Transitioning``, ``Failed`` or ``Deleted``."""
        return "Deleted" if self._deleted else self._gateway.service_info(self._handle).state

    def get_logs(self) -> str:
        """The container's log output."""
        return self._gateway.service_logs(self._handle)

    def keys(self) -> tuple[str, str]:
        """Primary and secondary keys (``Authorization: Bearer <key>``)."""
        return self._gateway.service_keys(self._handle)

    def run(self, payload: Any) -> Any:
        """POST ``payload`` as JSON with the primary key and return the decoded answer."""
        from asl_recognition.deploy.client import ScoringClient

        key: str | None
        try:
            key = self.keys()[0]
        except Exception:  # services with auth disabled have no keys
            key = None
        return ScoringClient(self.scoring_uri, key=key).post_json(payload)

    def update(self, **changes: Any) -> None:
        """Update the service in place (``inference_config``, ``models``, ``auth_enabled``...)."""
        self._gateway.update_service(self._handle, changes)

    def delete(self) -> None:
        """Delete the service; safe to call twice."""
        if not self._deleted:
            self._gateway.delete_service(self._handle)
            self._deleted = True

    def __repr__(self) -> str:
        return f"AciService(name={self._name!r})"


class AciDeployer:
    """Deploy saved models to Azure Container Instances.

    Args:
        cpu_cores: CPU cores of the container.
        memory_gb: memory of the container.
        auth_enabled: require a key (recommended; default True).
        enable_app_insights: send telemetry to Application Insights.
        location: Azure region (default: the workspace's).
        service_name: default service name when ``deploy`` gets none.
        wheel: this library's built wheel, installed in the service environment.
        overwrite: replace an existing service of the same name.
        azure: Azure settings (mapping or YAML path); None: defaults plus ``AZUREML_*``.
        gateway: the Azure boundary (tests pass a double); None: connect on first deploy.
    """

    def __init__(
        self,
        *,
        cpu_cores: float = 1,
        memory_gb: float = 1,
        auth_enabled: bool = True,
        enable_app_insights: bool = False,
        location: str | None = None,
        service_name: str = "asl-recognition",
        wheel: str | None = None,
        overwrite: bool = True,
        tags: Mapping[str, str] | None = None,
        azure: Mapping[str, Any] | str | None = None,
        gateway: AzureGateway | None = None,
    ) -> None:
        from asl_recognition.azure.settings import load_settings

        check_param("service_name", service_name, Text(3, 32))
        self._aci: dict[str, Any] = {
            "cpu_cores": cpu_cores,
            "memory_gb": memory_gb,
            "auth_enabled": auth_enabled,
            "enable_app_insights": enable_app_insights,
            "location": location,
            "tags": dict(tags or {}),
        }
        self.service_name = service_name
        self.wheel = wheel
        self.overwrite = overwrite
        self.settings = load_settings(azure)
        self.gateway = gateway

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> AciService:
        """Register ``model_dir`` and deploy it; return once the service is up."""
        from asl_recognition.azure import require_azureml

        require_azureml()  # before anything else, a missing SDK names the extra to install
        aci = AciSettings(**self._aci)
        gateway = self.gateway
        if gateway is None:
            from asl_recognition.azure.workspace import connect

            gateway = self.gateway = connect(self.settings)
        service_name = name or self.service_name
        handle, _ = deploy_model(
            gateway,
            Path(model_dir),
            name=service_name,
            settings=aci,
            wheel=self.wheel,
            overwrite=self.overwrite,
            show_output=self.settings.show_output,
        )
        return AciService(gateway, handle, name=service_name)
