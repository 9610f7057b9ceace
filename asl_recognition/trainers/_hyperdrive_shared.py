"""The Azure ``hyperdrive`` backends' shared part (SDK v1 and v2, no SDK import).

Both run the library's one CNN training script (:mod:`asl_recognition.trainers.cnn.train`),
uploaded alone as the job's source directory, with the fixed hyperparameters as ``--name value``
arguments and the sampled ones appended by the sweep; both optimise the metric the script logs
(:data:`~asl_recognition.trainers.cnn.metrics.PRIMARY_METRIC`).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, Literal

from asl_recognition.errors import ConfigurationError
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
from asl_recognition.trainers.cnn.search_space import SearchSpace
from asl_recognition.trainers.cnn.sweep import SweepSpec

__all__ = [
    "MODEL_PREFIX",
    "SCRIPT",
    "SweepPlan",
    "check_primary_metric",
    "fixed_arguments",
    "prepare_source_directory",
    "sweep_plan",
]

#: the training script, uploaded alone as the run's source directory
SCRIPT = "train.py"
#: where each child run saves its model (Azure uploads ./outputs)
MODEL_PREFIX = "outputs/model"


def fixed_arguments(base: TrainConfig, space: SearchSpace) -> list[str]:
    """``--name value`` for every hyperparameter the sweep does not sample.

    >>> from asl_recognition.trainers.cnn.search_space import SearchSpace
    >>> args = fixed_arguments(TrainConfig(), SearchSpace.parse({"--hidden": "choice(50, 100)"}))
    >>> "--hidden" in args, args[:2]
    (False, ['--arch', 'small'])
    """
    swept = set(space.names())
    args = base.to_args()
    out: list[str] = []
    for i in range(0, len(args), 2):
        if args[i][2:] not in swept:
            out += args[i : i + 2]
    return out


def prepare_source_directory(destination: Path) -> Path:
    """Copy the training script (alone) into ``destination``; the library comes from the wheel."""
    from asl_recognition.trainers.cnn import train

    destination.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(train.__file__), destination / SCRIPT)
    return destination


def check_primary_metric(spec: SweepSpec) -> None:
    """Raise :class:`ConfigurationError` unless ``spec`` optimises what the script logs."""
    if spec.primary_metric_name != PRIMARY_METRIC:
        raise ConfigurationError(
            f"sweep primary_metric_name {spec.primary_metric_name!r} is not what the training "
            f"script logs ({PRIMARY_METRIC!r})"
        )


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """What both SDKs' sweeps are built from: the space, the metric's goal, budgets, policy."""

    space: dict[str, tuple[str, list[Any]]]
    goal: Literal["maximize", "minimize"]
    max_total: int
    max_concurrent: int
    median_stopping: dict[str, int] | None


def sweep_plan(spec: SweepSpec) -> SweepPlan:
    """The :class:`SweepPlan` of ``spec`` (checked: it must optimise what the script logs).

    >>> from asl_recognition.trainers.cnn.sweep import SweepSpec, load_sweep_config
    >>> plan = sweep_plan(SweepSpec.from_config(load_sweep_config("seed")))
    >>> plan.max_total, plan.max_concurrent, plan.median_stopping
    (50, 10, {'evaluation_interval': 1, 'delay_evaluation': 0})
    """
    check_primary_metric(spec)
    policy = spec.policy
    return SweepPlan(
        space=spec.space.to_hyperdrive(),
        goal="maximize" if spec.primary_metric_goal == "maximize" else "minimize",
        max_total=spec.max_total_runs,
        max_concurrent=spec.max_concurrent_runs,
        median_stopping=(
            {"evaluation_interval": policy.evaluation_interval, "delay_evaluation": policy.delay_evaluation}
            if policy is not None
            else None
        ),
    )
