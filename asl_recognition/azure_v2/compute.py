"""AmlCompute clusters (SDK v2): the entity, and create-or-reuse.

The cluster always scales to zero nodes when idle: ``min_instances`` comes from the shared
settings (default 0) and ``idle_time_before_scale_down`` is required by them.

>>> from asl_recognition.azure.settings import ComputeSettings
>>> c = aml_compute(ComputeSettings(max_nodes=2))
>>> c.size, c.min_instances, c.max_instances, c.idle_time_before_scale_down, c.tier
('STANDARD_DS3_V2', 0, 2, 1800, 'dedicated')
"""

from __future__ import annotations

import logging
from typing import Any

from asl_recognition.azure.settings import ComputeSettings
from asl_recognition.azure_v2._sdk import require_azure_ai_ml

require_azure_ai_ml()

from azure.ai.ml.entities import AmlCompute  # noqa: E402
from azure.core.exceptions import ResourceNotFoundError  # noqa: E402

__all__ = ["aml_compute", "ensure_compute"]

log = logging.getLogger(__name__)

_TIERS = {"dedicated": "dedicated", "lowpriority": "low_priority"}


def aml_compute(settings: ComputeSettings) -> AmlCompute:
    """The ``AmlCompute`` entity for ``settings`` (always with a scale-down time)."""
    return AmlCompute(
        name=settings.name,
        size=settings.resolved_vm_size,
        min_instances=settings.min_nodes,
        max_instances=settings.max_nodes,
        idle_time_before_scale_down=settings.idle_seconds_before_scaledown,
        tier=_TIERS[settings.vm_priority],
    )


def ensure_compute(client: Any, settings: ComputeSettings) -> str:
    """Reuse the cluster ``settings.name`` if it exists, else create it and wait; return its name."""
    try:
        client.compute.get(settings.name)
        log.info("azure v2: reusing compute %s", settings.name)
        return settings.name
    except ResourceNotFoundError:
        pass
    log.info(
        "azure v2: creating compute %s (%s, %d..%d nodes, scale down after %d s idle)",
        settings.name,
        settings.resolved_vm_size,
        settings.min_nodes,
        settings.max_nodes,
        settings.idle_seconds_before_scaledown,
    )
    client.compute.begin_create_or_update(aml_compute(settings)).result()
    return settings.name
