"""Turning the Azure adapter's child-run records into the library's trial table.

Used by the AutoML and HyperDrive backends; the adapter returns plain
:class:`~asl_recognition.azure.gateway.ChildRun` records and knows nothing of trials.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asl_recognition.azure.gateway import ChildRun
from asl_recognition.trainers.base import TrialRecord, TrialState

__all__ = ["trial_records"]

_STATES: dict[str, TrialState] = {
    "Completed": "complete",
    "Canceled": "pruned",  # HyperDrive cancels runs its early-termination policy stops
    "Failed": "failed",
    "Running": "running",
    "Queued": "running",
    "Preparing": "running",
    "Starting": "running",
}


def _scalar(value: Any) -> float | None:
    if isinstance(value, list):  # metrics logged every epoch come back as lists
        value = value[-1] if value else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def trial_records(children: Iterable[ChildRun], *, metric: str, params: str = "arguments") -> list[TrialRecord]:
    """One :class:`TrialRecord` per child run, numbered in the order given.

    ``params="arguments"`` reads ``--name value`` pairs from the run's arguments (HyperDrive);
    ``params="properties"`` uses the run's properties (AutoML: algorithm and pipeline spec).

    >>> c = ChildRun("r1", metrics={"val_accuracy": [0.5, 0.9]}, arguments=["--hidden", "100"])
    >>> trial_records([c], metric="val_accuracy")[0].value
    0.9
    """
    out: list[TrialRecord] = []
    for number, child in enumerate(children):
        if params == "arguments":
            args = child.arguments
            chosen: dict[str, Any] = {a[2:]: args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("--")}
        else:
            chosen = {k: v for k, v in child.properties.items() if k in ("run_algorithm", "run_preprocessor")}
        history = child.metrics.get(metric)
        intermediate = {i + 1: float(v) for i, v in enumerate(history)} if isinstance(history, list) else {}
        out.append(
            TrialRecord(
                number=number,
                params={"run_id": child.id, **chosen},
                value=_scalar(history),
                state=_STATES.get(child.status, "failed"),
                duration_s=child.duration_s,
                intermediate=intermediate,
            )
        )
    return out
