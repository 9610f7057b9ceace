"""The ``Deployer`` and ``Service`` protocols and the deployer registry.

>>> sorted(available_deployers())[:3]
['aci', 'azure_online', 'local']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from asl_recognition.registry import Registry

__all__ = ["Deployer", "Service", "available_deployers", "deployers", "get_deployer"]


@runtime_checkable
class Service(Protocol):
    """A running scoring service (local inference server or Azure web service)."""

    @property
    def name(self) -> str:
        """Service name."""
        ...

    @property
    def scoring_uri(self) -> str:
        """URL that accepts POSTed scoring requests."""
        ...

    @property
    def swagger_uri(self) -> str | None:
        """URL of the OpenAPI document, if the service has one."""
        ...

    @property
    def state(self) -> str:
        """``"Healthy"``, ``"Transitioning"``, ``"Failed"`` or ``"Deleted"``."""
        ...

    def get_logs(self) -> str:
        """The service's log output so far."""
        ...

    def run(self, payload: Any) -> Any:
        """POST ``payload`` (a JSON-able object) to the scoring URI and return the decoded JSON."""
        ...

    def delete(self) -> None:
        """Stop the service and release its resources; safe to call twice."""
        ...


@runtime_checkable
class Deployer(Protocol):
    """Turns a saved model directory into a running :class:`Service`."""

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> Service:
        """Deploy the model saved in ``model_dir`` and wait until it is healthy."""
        ...


deployers: Registry[Callable[..., Deployer]] = Registry(
    "deployer", entry_point_group="asl_recognition.deployers"
)
deployers.register("local", "asl_recognition.deploy.local:LocalDeployer", extra="serve")
deployers.register("aci", "asl_recognition.deploy.aci:AciDeployer", extra="azure")
deployers.register("azure_online", "asl_recognition.deploy.azure_online:AzureOnlineDeployer", extra="azure")


def available_deployers() -> list[str]:
    """Names of every registered deployer."""
    return deployers.names()


def get_deployer(name: str, /, **params: Any) -> Deployer:
    """Build the deployer registered as ``name`` (``"local"``, ``"aci"``, ``"azure_online"``) with ``params``."""
    deployer: Deployer = deployers.create(name, **params)
    return deployer
