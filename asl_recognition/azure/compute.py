"""AmlCompute clusters: the provisioning configuration, and create-or-reuse.

>>> from asl_recognition.azure.settings import ComputeSettings
>>> cfg = provisioning_config(ComputeSettings(max_nodes=2))
>>> cfg.vm_size, cfg.scale_settings.idle_seconds_before_scaledown
('STANDARD_DS3_V2', 1800)
"""

from __future__ import annotations

import logging
from typing import Any

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.gateway import AzureGateway
from asl_recognition.azure.settings import ComputeSettings

require_azureml()

from azureml.core.compute import AmlCompute  # noqa: E402

__all__ = ["ensure_compute", "provisioning_config"]

log = logging.getLogger(__name__)


def provisioning_config(settings: ComputeSettings) -> Any:
    """The SDK's ``AmlComputeProvisioningConfiguration`` (always with a scale-down time)."""
    return AmlCompute.provisioning_configuration(
        vm_size=settings.resolved_vm_size,
        vm_priority=settings.vm_priority,
        min_nodes=settings.min_nodes,
        max_nodes=settings.max_nodes,
        idle_seconds_before_scaledown=settings.idle_seconds_before_scaledown,
    )


def ensure_compute(gateway: AzureGateway, settings: ComputeSettings) -> Any:
    """Reuse the cluster ``settings.name`` if it exists, else create it; return the target."""
    existing = gateway.get_compute(settings.name)
    if existing is not None:
        log.info("azure: reusing compute %s", settings.name)
        return existing
    log.info(
        "azure: creating compute %s (%s, %d..%d nodes, scale down after %d s idle)",
        settings.name,
        settings.resolved_vm_size,
        settings.min_nodes,
        settings.max_nodes,
        settings.idle_seconds_before_scaledown,
    )
    return gateway.create_compute(settings.name, provisioning_config(settings))
