"""The Azure ``hyperdrive`` backends' shared part (SDK v1 and v2, no SDK import).

Both run the library's one CNN training script (:mod:`asl_recognition.trainers.cnn.train`),
uploaded alone as the job's source directory, with the fixed hyperparameters as ``--name value``
arguments and the sampled ones appended by the sweep; both optimise the metric the script logs
(:data:`~asl_recognition.trainers.cnn.metrics.PRIMARY_METRIC`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from asl_recognition.errors import ConfigurationError
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
from asl_recognition.trainers.cnn.search_space import SearchSpace
from asl_recognition.trainers.cnn.sweep import SweepSpec

__all__ = ["MODEL_PREFIX", "SCRIPT", "check_primary_metric", "fixed_arguments", "prepare_source_directory"]

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
