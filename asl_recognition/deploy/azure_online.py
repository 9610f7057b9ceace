"""The ``azure_online`` deployer: a saved model as an Azure ML managed online endpoint (SDK v2).

The model directory (any backend's saved :class:`~asl_recognition.models.base.TrainedModel`,
with the installed hand models bundled beside it as for ACI) becomes the deployment's custom
model; the deployment runs the library's one, unchanged scoring script
(``asl_recognition/deploy/score.py``) through a ``CodeConfiguration`` whose code folder is a
snapshot of this library, in an ``Environment`` built from the library's pinned ``serve`` and
``images`` requirements (the Azure ML inference server among them). The endpoint uses key
authentication; after the deployment is up it gets all the traffic.

This module decides what is deployed; the SDK v2 adapter (:mod:`asl_recognition.azure_v2`)
builds the entities and makes every call, through the ``MLClient``'s operations.
:meth:`AzureOnlineService.run` posts to the scoring URI with the endpoint key, like any client
would; :meth:`AzureOnlineService.invoke` goes through ``online_endpoints.invoke``.

>>> AzureOnlineDeployer(endpoint_name="x", azure={"workspace": {"subscription_id": "s",
...     "resource_group": "g", "workspace_name": "w"}})
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'endpoint_name' must be a string of 3..32 characters, got 'x'
"""

from __future__ import annotations

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
    from azure.ai.ml import MLClient

__all__ = ["SCORING_SCRIPT", "AzureOnlineDeployer", "AzureOnlineService"]

logger = logging.getLogger(__name__)

#: the scoring script inside the code snapshot (the library's own score.py, unchanged)
SCORING_SCRIPT = "asl_recognition/deploy/score.py"


class AzureOnlineService:
    """A managed online endpoint (satisfies :class:`~asl_recognition.deploy.base.Service`)."""

    def __init__(self, client: Any, *, name: str, deployment: str) -> None:
        self._client = client
        self._name = name
        self.deployment = deployment
        self._deleted = False

    def _info(self) -> Any:
        from asl_recognition.azure_v2.endpoints import endpoint_info

        return endpoint_info(self._client, self._name)

    @property
    def name(self) -> str:
        """Endpoint name."""
        return self._name

    @property
    def scoring_uri(self) -> str:
        """URL that accepts POSTed scoring requests (with ``Authorization: Bearer <key>``)."""
        info = self._info()
        if not info.scoring_uri:
            raise DeploymentError(f"endpoint {self._name!r} has no scoring URI (state {info.state})")
        return str(info.scoring_uri)

    @property
    def swagger_uri(self) -> str | None:
        """URL of the OpenAPI document."""
        uri = self._info().openapi_uri
        return str(uri) if uri else None

    @property
    def state(self) -> str:
        """``Healthy``, ``Transitioning``, ``Failed`` or ``Deleted``."""
        return "Deleted" if self._deleted else str(self._info().state)

    @property
    def traffic(self) -> dict[str, int]:
        """Percentage of requests per deployment."""
        return dict(self._info().traffic)

    def set_traffic(self, traffic: Mapping[str, int]) -> None:
        """Split the traffic between deployments (e.g. ``{"blue": 90, "green": 10}``)."""
        from asl_recognition.azure_v2.endpoints import set_traffic

        if sum(traffic.values()) != 100:
            raise ConfigurationError(f"traffic percentages must sum to 100, got {dict(traffic)}")
        set_traffic(self._client, self._name, traffic)

    def get_logs(self) -> str:
        """The deployment container's log output."""
        from asl_recognition.azure_v2.endpoints import deployment_logs

        return deployment_logs(self._client, self._name, self.deployment)

    def keys(self) -> tuple[str, str]:
        """Primary and secondary endpoint keys."""
        from asl_recognition.azure_v2.endpoints import endpoint_keys

        return endpoint_keys(self._client, self._name)

    def run(self, payload: Any) -> Any:
        """POST ``payload`` as JSON to the scoring URI with the primary key; return the answer."""
        from asl_recognition.deploy.client import ScoringClient

        return ScoringClient(self.scoring_uri, key=self.keys()[0]).post_json(payload)

    def invoke(self, payload: Any) -> Any:
        """Score ``payload`` through the SDK (``online_endpoints.invoke``) on this deployment."""
        from asl_recognition.azure_v2.endpoints import invoke

        return invoke(self._client, self._name, payload, deployment=self.deployment)

    def delete(self) -> None:
        """Delete the endpoint and its deployments; safe to call twice."""
        from asl_recognition.azure_v2.endpoints import delete_endpoint

        if not self._deleted:
            delete_endpoint(self._client, self._name)
            self._deleted = True

    def __repr__(self) -> str:
        return f"AzureOnlineService(name={self._name!r}, deployment={self.deployment!r})"


class AzureOnlineDeployer:
    """Deploy saved models to Azure ML managed online endpoints (SDK v2).

    Args:
        endpoint_name: default endpoint name when ``deploy`` gets none (3..32 characters,
            unique in the Azure region).
        deployment_name: name of the deployment behind the endpoint (``blue``; deploy a
            ``green`` one beside it and shift traffic with ``set_traffic``).
        instance_type: VM size of each instance.
        instance_count: number of instances.
        environment_name: name of the serving environment in the workspace.
        tags: tags of the endpoint, deployment and model.
        azure: Azure settings (mapping or YAML path); None: defaults plus ``AZUREML_*`` /
            ``AZURE_*`` or a found ``config.json``.
        ml_client: the ``MLClient`` (tests replace its operations); None: connect on deploy.
    """

    def __init__(
        self,
        *,
        endpoint_name: str = "asl-recognition",
        deployment_name: str = "blue",
        instance_type: str = "Standard_DS3_v2",
        instance_count: int = 1,
        environment_name: str = "asl-recognition-serve",
        tags: Mapping[str, str] | None = None,
        azure: Mapping[str, Any] | str | None = None,
        ml_client: MLClient | None = None,
    ) -> None:
        from asl_recognition.trainers._azure_sdk import load_azure_settings

        check_param("endpoint_name", endpoint_name, Text(3, 32))
        check_param("deployment_name", deployment_name, Text(3, 32))
        check_param("instance_type", instance_type, Text())
        check_param("instance_count", instance_count, Interval(int, 1, None))
        self.endpoint_name = endpoint_name
        self.deployment_name = deployment_name
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.environment_name = environment_name
        self.tags = dict(tags or {})
        self.settings = load_azure_settings(azure, "v2")
        self.ml_client = ml_client

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> AzureOnlineService:
        """Deploy ``model_dir`` behind endpoint ``name``; return once it serves all traffic."""
        from asl_recognition.azure_v2 import endpoints
        from asl_recognition.azure_v2.environment import build_environment, library_snapshot
        from asl_recognition.models import read_metadata
        from asl_recognition.photo.hand_models import bundle_hand_models
        from asl_recognition.trainers._azure_sdk import connect_v2

        source = Path(model_dir)
        try:
            meta = read_metadata(source)
        except ModelFormatError as exc:
            raise ConfigurationError(f"cannot deploy {source}: {exc}") from exc
        endpoint_name = name or self.endpoint_name
        check_param("name", endpoint_name, Text(3, 32))
        client = self.ml_client = connect_v2(self.settings, self.ml_client)
        tags = {"backend": meta.backend, "model_type": meta.model_type, **self.tags}
        with tempfile.TemporaryDirectory(prefix="asl-online-") as tmp:
            staged = Path(tmp) / "model" / source.name
            shutil.copytree(source, staged)
            bundle_hand_models(staged)
            code = library_snapshot(Path(tmp) / "code")
            deployment = endpoints.online_deployment(
                name=self.deployment_name,
                endpoint_name=endpoint_name,
                model_dir=staged,
                model_name=f"asl-{meta.backend}",
                code=code,
                scoring_script=SCORING_SCRIPT,
                environment=build_environment(self.environment_name, extras=("serve", "images")),
                instance_type=self.instance_type,
                instance_count=self.instance_count,
                tags=tags,
            )
            endpoint = endpoints.online_endpoint(
                endpoint_name, description=f"asl_recognition {meta.backend} model", tags=tags
            )
            endpoints.deploy(client, endpoint, deployment)
        return AzureOnlineService(client, name=endpoint_name, deployment=self.deployment_name)
