"""Web services (SDK v1): deployment configuration from plain values, and deploying one.

The deployer decides *what* to serve (which registered models, which source folder and entry
script, which environment, how large a container); this module builds the SDK's
``InferenceConfig`` and ``AciWebservice`` deployment configuration from those values and
deploys through the gateway.

>>> cfg = aci_deployment_config(cpu_cores=1, memory_gb=2)
>>> cfg.cpu_cores, cfg.memory_gb, cfg.auth_enabled
(1, 2, True)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.gateway import AzureGateway, RegisteredModel

require_azureml()

from azureml.core.model import InferenceConfig  # noqa: E402
from azureml.core.webservice import AciWebservice  # noqa: E402

__all__ = ["aci_deployment_config", "deploy_service", "inference_config"]

log = logging.getLogger(__name__)


def aci_deployment_config(
    *,
    cpu_cores: float,
    memory_gb: float,
    auth_enabled: bool = True,
    enable_app_insights: bool = False,
    location: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Any:
    """``AciWebservice.deploy_configuration`` (an empty ``tags`` is sent as None)."""
    return AciWebservice.deploy_configuration(
        cpu_cores=cpu_cores,
        memory_gb=memory_gb,
        auth_enabled=auth_enabled,
        enable_app_insights=enable_app_insights,
        location=location,
        description=description,
        tags=dict(tags or {}) or None,
    )


def inference_config(*, source_directory: Path, entry_script: str, environment: Any) -> InferenceConfig:
    """``InferenceConfig`` running ``entry_script`` from ``source_directory`` in ``environment``."""
    return InferenceConfig(
        entry_script=entry_script,
        environment=environment,
        source_directory=str(source_directory),
    )


def deploy_service(
    gateway: AzureGateway,
    *,
    name: str,
    models: Sequence[RegisteredModel],
    inference_config: Any,
    deployment_config: Any,
    overwrite: bool,
    show_output: bool,
) -> Any:
    """Deploy ``models`` as web service ``name``, wait until it is up, return its handle."""
    service = gateway.deploy(
        name=name,
        models=models,
        inference_config=inference_config,
        deployment_config=deployment_config,
        overwrite=overwrite,
    )
    gateway.wait_for_deployment(service, show_output=show_output)
    log.info("azure: deployed %s as %s", ", ".join(f"{m.name}:{m.version}" for m in models), name)
    return service
