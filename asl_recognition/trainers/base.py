"""The ``Trainer`` protocol every backend satisfies, and what ``fit`` returns.

A backend is any class with ``fit(train, *, validation=None, seed=0) -> TrainResult``. Its
constructor takes keyword-only, typed parameters and validates them (rule 1 of the style guide:
constructors validate and store; work happens in ``fit``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from asl_recognition.errors import InvalidParameterError
from asl_recognition.registry import Registry, check_parameter_names  # noqa: F401  (re-exported: its old home)

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset
    from asl_recognition.models import TrainedModel
    from asl_recognition.tracking import TrackedRun

__all__ = [
    "JobModelsUser",
    "Preflight",
    "Preparer",
    "TrackingUser",
    "TrainResult",
    "Trainer",
    "TrialRecord",
    "available_trainers",
    "get_trainer",
    "register_trainer",
    "trainers",
    "validation_metrics",
]

TrialState = Literal["complete", "pruned", "failed", "running"]


@runtime_checkable
class Trainer(Protocol):
    """What every training backend provides.

    ``fit`` trains on ``train``; when ``validation`` is given it reports validation metrics
    (``validation_accuracy`` at least) and sweeping backends select on it. ``validation`` must
    come from :meth:`Dataset.split_validation` (leak-free), never from the test file.
    """

    def fit(
        self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0
    ) -> TrainResult:
        """Train a model and return it with its metrics."""
        ...


@runtime_checkable
class JobModelsUser(Protocol):
    """A trainer that builds on the models of other trainers of the same job (``product``).

    The main job (:func:`asl_recognition.job.run_job`) trains the trainers named in
    :attr:`job_models` first (they must be listed before this one) and hands their models to
    :meth:`use_job_models` before calling ``fit``. A trainer with an empty ``job_models`` is
    an ordinary one.
    """

    job_models: tuple[str, ...]

    def use_job_models(self, models: Mapping[str, TrainedModel]) -> None:
        """Receive the trained models of the trainers named in :attr:`job_models`, by name."""
        ...


@runtime_checkable
class Preparer(Protocol):
    """A trainer with work that needs no other trainer's model and that ``fit`` would otherwise
    do itself: filling on-disk caches (e.g. the hand observations of the ``photo`` trainer).

    When the main job trains in worker processes, a trainer that waits for other trainers'
    models (:class:`JobModelsUser`) runs :meth:`prepare` in a free worker while they train, and
    its ``fit`` then finds that work done. ``fit`` must not depend on :meth:`prepare` having run.
    """

    def prepare(self, train: Dataset) -> None:
        """Do ahead what ``fit(train, ...)`` will need (in one process: the job's other workers
        are busy)."""
        ...


@runtime_checkable
class TrackingUser(Protocol):
    """A trainer that logs more than its result to the job's tracking run (per-epoch metrics,
    sweep trials as nested runs).

    With tracking on, the main job hands each such trainer its child run before ``fit``; the
    trainer logs to that run (and runs nested under it) by id, never through MLflow's
    process-global active run.
    """

    def use_tracking(self, run: TrackedRun | None) -> None:
        """Receive the run to log to (None: tracking off)."""
        ...


@runtime_checkable
class Preflight(Protocol):
    """A trainer that can check its external resources (a cloud workspace) before any work.

    The main job calls :meth:`preflight` on every such trainer after building them all and
    before loading data, so a missing or wrong workspace fails in seconds, not after the data
    was loaded and other trainers ran.
    """

    def preflight(self) -> None:
        """Raise :class:`~asl_recognition.errors.ConfigurationError` unless the trainer can start."""
        ...


@dataclasses.dataclass
class TrialRecord:
    """One child run of a sweep (a HyperDrive child run, an Optuna trial, an AutoML iteration)."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: TrialState
    duration_s: float
    intermediate: dict[int, float] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        model: the fitted model (the best trial's for sweeping backends).
        metrics: validation metrics, e.g. ``{"validation_accuracy": 0.93}``.
        hyperparameters: the parameters of the returned model.
        timings: seconds spent, at least ``{"fit_s": ...}``.
        trials: the sweep's trial table (empty for single-run backends).
        backend: registered name of the trainer.
    """

    model: TrainedModel
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    trials: list[TrialRecord] = dataclasses.field(default_factory=list)
    backend: str = ""


trainers: Registry[Callable[..., Trainer]] = Registry(
    "trainer", entry_point_group="asl_recognition.trainers"
)
trainers.register("sklearn", "asl_recognition.trainers._sklearn:SklearnTrainer")
trainers.register("cnn", "asl_recognition.trainers.cnn.backend:KerasCnnTrainer", extra="keras")
trainers.register("automl", "asl_recognition.trainers._automl:AutoMLTrainer", extra="automl")
trainers.register(
    "hyperdrive", "asl_recognition.trainers._hyperdrive:HyperDriveTrainer", extra="keras"
)
trainers.register("product", "asl_recognition.trainers._product:ProductTrainer")
trainers.register("photo", "asl_recognition.trainers.photo:PhotoTrainer")

T = TypeVar("T", bound=Callable[..., Trainer])


def register_trainer(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Class decorator registering a backend under ``name`` for this process.

    >>> @register_trainer("doc-example", replace=True)
    ... class MyTrainer:
    ...     def fit(self, train, *, validation=None, seed=0): ...
    >>> "doc-example" in available_trainers()
    True
    """

    def decorator(cls: T) -> T:
        trainers.register(name, cls, replace=replace)
        return cls

    return decorator


def available_trainers() -> list[str]:
    """Names of every registered trainer (built-ins, entry points and decorated classes)."""
    return trainers.names()


def get_trainer(name: str, /, **params: Any) -> Trainer:
    """Build the trainer registered as ``name`` with keyword ``params``.

    Unknown parameter names raise :class:`InvalidParameterError` listing the accepted ones.

    >>> get_trainer("sklearn", C=-1)
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: 'C' must be > 0, got -1
    """
    trainer = trainers.create(name, **params)
    if not isinstance(trainer, Trainer):
        raise InvalidParameterError(f"trainer {name!r} does not provide fit(); got {trainer!r}")
    return trainer


def validation_metrics(model: TrainedModel, validation: Dataset | None) -> dict[str, float]:
    """``validation_accuracy`` (and count) of ``model`` on ``validation``; empty if None.

    Every backend reports validation metrics through this one function, so the names and the
    computation are the same for all of them.
    """
    if validation is None or len(validation) == 0:
        return {}
    predicted = model.predict(validation.images)
    return {
        "validation_accuracy": float((predicted == validation.labels).mean()),
        "validation_size": float(len(validation)),
    }
