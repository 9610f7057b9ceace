"""Managed online endpoints (SDK v2): the entities, and deploying, invoking, inspecting, deleting.

The deployer decides *what* is served (which model folder, which code folder and scoring
script, which environment, how large an instance); this module builds the
``ManagedOnlineEndpoint`` (key authentication), the ``ManagedOnlineDeployment`` (a custom model
folder, a ``CodeConfiguration`` and an ``Environment``) and makes the calls through the
client's ``online_endpoints`` and ``online_deployments`` operations.

>>> ep = online_endpoint("asl-recognition")
>>> ep.name, ep.auth_mode
('asl-recognition', 'key')
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asl_recognition.azure_v2._sdk import require_azure_ai_ml
from asl_recognition.errors import DeploymentError

require_azure_ai_ml()

from azure.ai.ml.constants import AssetTypes  # noqa: E402
from azure.ai.ml.entities import (  # noqa: E402
    CodeConfiguration,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.core.exceptions import ResourceNotFoundError  # noqa: E402

__all__ = [
    "EndpointInfo",
    "delete_endpoint",
    "deploy",
    "endpoint_info",
    "endpoint_keys",
    "get_endpoint",
    "invoke",
    "deployment_logs",
    "online_deployment",
    "online_endpoint",
    "set_traffic",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EndpointInfo:
    """What an endpoint reports about itself."""

    name: str
    state: str
    scoring_uri: str | None
    openapi_uri: str | None
    traffic: dict[str, int]


def online_endpoint(
    name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
) -> ManagedOnlineEndpoint:
    """A ``ManagedOnlineEndpoint`` with key authentication."""
    return ManagedOnlineEndpoint(name=name, auth_mode="key", description=description, tags=dict(tags or {}))


def online_deployment(
    *,
    name: str,
    endpoint_name: str,
    model_dir: Path,
    model_name: str,
    code: Path,
    scoring_script: str,
    environment: Any,
    instance_type: str,
    instance_count: int,
    environment_variables: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> ManagedOnlineDeployment:
    """A ``ManagedOnlineDeployment`` serving ``model_dir`` with ``scoring_script`` from ``code``."""
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint_name,
        model=Model(path=str(model_dir), name=model_name, type=AssetTypes.CUSTOM_MODEL, tags=dict(tags or {})),
        code_configuration=CodeConfiguration(code=str(code), scoring_script=scoring_script),
        environment=environment,
        instance_type=instance_type,
        instance_count=instance_count,
        environment_variables=dict(environment_variables or {}),
        tags=dict(tags or {}),
    )


def _wait(poller: Any, what: str) -> Any:
    try:
        return poller.result()
    except Exception as exc:  # HttpResponseError, DeploymentException, timeouts
        lines = str(exc).strip().splitlines()
        raise DeploymentError(f"{what} failed: {lines[0] if lines else type(exc).__name__}") from exc


def deploy(client: Any, endpoint: ManagedOnlineEndpoint, deployment: ManagedOnlineDeployment) -> None:
    """Create or update the endpoint, then the deployment, then send it all traffic; wait for each."""
    endpoint_name, deployment_name = str(endpoint.name), str(deployment.name)
    _wait(client.online_endpoints.begin_create_or_update(endpoint), f"creating endpoint {endpoint_name!r}")
    try:
        _wait(client.online_deployments.begin_create_or_update(deployment), f"deployment {deployment_name!r}")
    except DeploymentError as exc:
        logs = deployment_logs(client, endpoint_name, deployment_name)
        raise DeploymentError(f"{exc}\n--- deployment logs ---\n{logs}") from exc
    set_traffic(client, endpoint_name, {deployment_name: 100})
    log.info("azure v2: deployed %s to endpoint %s", deployment_name, endpoint_name)


def get_endpoint(client: Any, name: str) -> Any | None:
    """The endpoint ``name``, or None."""
    try:
        return client.online_endpoints.get(name)
    except ResourceNotFoundError:
        return None


def endpoint_info(client: Any, name: str) -> EndpointInfo:
    """Name, provisioning state, URIs and traffic split of endpoint ``name``."""
    found = get_endpoint(client, name)
    if found is None:
        return EndpointInfo(name, "Deleted", None, None, {})
    state = str(getattr(found, "provisioning_state", None) or "Unknown")
    healthy = {"Succeeded": "Healthy", "Failed": "Failed", "Deleting": "Transitioning",
               "Creating": "Transitioning", "Updating": "Transitioning"}  # fmt: skip
    return EndpointInfo(
        name,
        healthy.get(state, state),
        getattr(found, "scoring_uri", None),
        getattr(found, "openapi_uri", None),
        {str(k): int(v) for k, v in (getattr(found, "traffic", None) or {}).items()},
    )


def set_traffic(client: Any, name: str, traffic: Mapping[str, int]) -> None:
    """Split the endpoint's traffic between its deployments (percentages summing to 100)."""
    endpoint = client.online_endpoints.get(name)
    endpoint.traffic = dict(traffic)
    _wait(client.online_endpoints.begin_create_or_update(endpoint), f"setting traffic of {name!r}")


def endpoint_keys(client: Any, name: str) -> tuple[str, str]:
    """Primary and secondary keys of endpoint ``name``."""
    keys = client.online_endpoints.get_keys(name)
    return str(keys.primary_key), str(keys.secondary_key)


def invoke(client: Any, name: str, payload: Any, *, deployment: str | None = None) -> Any:
    """Score ``payload`` (JSON-able) through ``online_endpoints.invoke``; return the decoded answer."""
    with tempfile.TemporaryDirectory(prefix="asl-invoke-") as tmp:
        request = Path(tmp) / "request.json"
        request.write_text(json.dumps(payload), encoding="utf-8")
        answer = client.online_endpoints.invoke(endpoint_name=name, request_file=str(request),
                                                deployment_name=deployment)
    try:
        decoded = json.loads(answer)
    except (TypeError, ValueError):
        return answer
    # the inference server may return the JSON document as a JSON string
    if isinstance(decoded, str):
        try:
            return json.loads(decoded)
        except ValueError:
            return decoded
    return decoded


def deployment_logs(client: Any, endpoint_name: str, deployment_name: str, *, lines: int = 200) -> str:
    """The last ``lines`` of the deployment's container log (empty if it cannot be read)."""
    try:
        return str(client.online_deployments.get_logs(name=deployment_name, endpoint_name=endpoint_name, lines=lines))
    except Exception as exc:  # the deployment may not exist yet
        return f"(no logs: {exc})"


def delete_endpoint(client: Any, name: str) -> None:
    """Delete endpoint ``name`` and its deployments, and wait."""
    _wait(client.online_endpoints.begin_delete(name=name), f"deleting endpoint {name!r}")
