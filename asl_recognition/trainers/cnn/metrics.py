"""The one name under which the CNN training script logs its primary metric.

The local sweep and Azure HyperDrive both read :data:`PRIMARY_METRIC` from here, so the logged
name and the tuner's metric name cannot drift apart.
"""

from __future__ import annotations

__all__ = ["PRIMARY_METRIC", "PRIMARY_METRIC_GOAL"]

PRIMARY_METRIC = "val_accuracy"
PRIMARY_METRIC_GOAL = "maximize"
