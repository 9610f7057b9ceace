"""Jobs (SDK v2): ``command``, its ``.sweep(...)``, ``automl.classification``; submit, stream, outputs.

The backends decide *what* runs (which script and arguments, which search space and metric,
which AutoML settings); this module only turns those plain values into the SDK's job entities
and drives a submitted job through the client's ``jobs`` operations until its best child and
its outputs are known.

>>> job = command_job(code=Path("."), command="python train.py --hidden ${{inputs.hidden}}",
...     inputs={"hidden": 50}, outputs={}, environment="env:1", compute="cpu", experiment_name="e")
>>> sweep = sweep_job(job, search_space={"--hidden": ("choice", [50, 100])},
...     objective=("val_accuracy", "maximize"), limits={"max_total_trials": 4, "max_concurrent_trials": 2},
...     median_stopping={"evaluation_interval": 1, "delay_evaluation": 5})
>>> type(sweep).__name__, sweep.objective.primary_metric, sweep.limits.max_total_trials, sweep.experiment_name
('SweepJob', 'val_accuracy', 4, 'e')
>>> sweep.trial.command, type(sweep.early_termination).__name__
('python train.py --hidden ${{search_space.hidden}}', 'MedianStoppingPolicy')
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from asl_recognition.azure.gateway import ChildRun
from asl_recognition.azure_v2._sdk import require_azure_ai_ml
from asl_recognition.errors import ConfigurationError, TrainingError

require_azure_ai_ml()

from azure.ai.ml import Input, Output, automl  # noqa: E402
from azure.ai.ml import command as command_builder  # noqa: E402
from azure.ai.ml.constants import AssetTypes  # noqa: E402
from azure.ai.ml.sweep import (  # noqa: E402
    Choice,
    LogUniform,
    MedianStoppingPolicy,
    QUniform,
    Randint,
    Uniform,
)

__all__ = [
    "ARTIFACTS",
    "NAMED_OUTPUTS",
    "TERMINAL",
    "best_child_name",
    "children",
    "classification_job",
    "command_job",
    "download",
    "folder_output",
    "submit",
    "sweep_distribution",
    "sweep_job",
    "wait",
]

#: where ``jobs.download`` puts a job's default artifacts (``./outputs``, logs) and named outputs
ARTIFACTS = "artifacts"
NAMED_OUTPUTS = "named-outputs"
#: final job states
TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding", "Paused")
Goal = Literal["maximize", "minimize"]

log = logging.getLogger(__name__)


def folder_output() -> Output:
    """A ``uri_folder`` job output (a saved model directory)."""
    return Output(type=AssetTypes.URI_FOLDER)


def command_job(
    *,
    code: Path,
    command: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    environment: Any,
    compute: str,
    experiment_name: str,
    display_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Any:
    """The ``command(...)`` job running ``command`` in the snapshot ``code``."""
    return command_builder(
        code=str(code),
        command=command,
        inputs=dict(inputs),
        outputs=dict(outputs),
        environment=environment,
        compute=compute,
        experiment_name=experiment_name,
        display_name=display_name,
        tags=dict(tags or {}),
    )



def sweep_distribution(kind: str, args: Sequence[Any]) -> Any:
    """The SDK v2 sweep distribution of one HyperDrive-style expression (``choice``, ``uniform``...).

    >>> sweep_distribution("quniform", [32, 256, 32]).q
    32
    """
    if kind == "choice":
        return Choice(values=list(args))
    if kind == "uniform":
        return Uniform(min_value=args[0], max_value=args[1])
    if kind == "loguniform":
        return LogUniform(min_value=args[0], max_value=args[1])
    if kind == "quniform":
        return QUniform(min_value=args[0], max_value=args[1], q=args[2])
    if kind == "randint":
        return Randint(upper=args[0])
    raise ConfigurationError(f"{kind!r} is not a sweep expression of SDK v2; supported: choice, uniform, "
                             "loguniform, quniform, randint")


def sweep_job(
    base: Any,
    *,
    search_space: Mapping[str, tuple[str, Sequence[Any]]],
    objective: tuple[str, Goal],
    limits: Mapping[str, int],
    median_stopping: Mapping[str, int] | None = None,
    compute: str | None = None,
    experiment_name: str | None = None,
) -> Any:
    """The ``SweepJob`` of ``base(**distributions).sweep(...)``: random sampling over ``search_space``.

    ``search_space`` maps ``"--name"`` (or ``"name"``) to ``(kind, args)`` as
    :meth:`~asl_recognition.trainers.cnn.search_space.SearchSpace.to_hyperdrive` gives it; each
    name must be an input of ``base``. ``objective`` is the primary metric and its goal,
    ``limits`` holds ``max_total_trials`` and ``max_concurrent_trials`` (and optionally
    ``timeout``, ``trial_timeout``), ``median_stopping`` ``MedianStoppingPolicy`` keywords (None
    runs every trial to the end).
    """
    distributions = {name.lstrip("-"): sweep_distribution(kind, args) for name, (kind, args) in search_space.items()}
    policy = MedianStoppingPolicy(**median_stopping) if median_stopping is not None else None
    metric, goal = objective
    node = base(**distributions).sweep(
        compute=compute,
        sampling_algorithm="random",
        primary_metric=metric,
        goal="Maximize" if goal == "maximize" else "Minimize",
        early_termination_policy=policy,
        **dict(limits),
    )
    # the builder node becomes the SweepJob entity here (jobs.create_or_update would do the same)
    job = node._to_job()
    job.experiment_name = experiment_name or getattr(base, "experiment_name", None)
    job.display_name = getattr(base, "display_name", None)
    job.tags = dict(getattr(base, "tags", None) or {})
    return job


def classification_job(
    *,
    job: Mapping[str, Any],
    limits: Mapping[str, Any],
    training: Mapping[str, Any],
    featurization: Mapping[str, Any] | None,
    training_data: Input,
    validation_data: Input,
    compute: str,
    experiment_name: str,
    tags: Mapping[str, str] | None = None,
) -> Any:
    """``automl.classification(**job)`` with ``set_limits(**limits)``, ``set_training(**training)``.

    The SDK's own errors for bad settings become a :class:`ConfigurationError` that shows them.
    """
    try:
        built = automl.classification(
            compute=compute,
            experiment_name=experiment_name,
            training_data=training_data,
            validation_data=validation_data,
            tags=dict(tags or {}),
            **job,
        )
        built.set_limits(**limits)
        built.set_training(**training)
        if featurization:
            built.set_featurization(**featurization)
    except Exception as exc:  # the SDK raises ValidationException, TypeError & co. for bad settings
        raise ConfigurationError(
            f"invalid AutoML settings job={dict(job)} limits={dict(limits)} training={dict(training)}: {exc}"
        ) from exc
    return built


def submit(client: Any, job: Any, *, what: str) -> Any:
    """Submit ``job`` through ``client.jobs`` and log where to watch it."""
    submitted = client.jobs.create_or_update(job)
    log.info("azure v2: %s job %s submitted (%s)", what, submitted.name, getattr(submitted, "studio_url", None))
    return submitted


def wait(client: Any, job: Any, *, show_output: bool, what: str, poll_s: float = 30.0) -> Any:
    """Block until ``job`` ends (streaming its log if ``show_output``); return the final job.

    A job that ends in any state but ``Completed`` raises :class:`TrainingError` with its
    studio address.
    """
    if show_output:
        client.jobs.stream(job.name)
    final = client.jobs.get(job.name)
    while final.status not in TERMINAL:
        time.sleep(poll_s)
        final = client.jobs.get(job.name)
    if final.status != "Completed":
        raise TrainingError(
            f"{what} job {job.name} ended with status {final.status!r}; see {getattr(final, 'studio_url', None)}"
        )
    return final


def best_child_name(job: Any, *, what: str) -> str:
    """The best trial of a finished sweep or AutoML job (``best_child_run_id``)."""
    for source in (getattr(job, "properties", None) or {}, getattr(job, "tags", None) or {}):
        for key in ("best_child_run_id", "automl_best_child_run_id"):
            if source.get(key):
                return str(source[key])
    raise TrainingError(f"{what} job {job.name} reports no best child run (no best_child_run_id)")


def _duration(job: Any) -> float:
    context = getattr(job, "creation_context", None)
    start: Any = getattr(context, "created_at", None)
    end: Any = getattr(context, "last_modified_at", None)
    try:
        return float((end - start).total_seconds())
    except (TypeError, AttributeError):
        return 0.0


def children(client: Any, job_name: str, *, parameters: Sequence[str] = ()) -> list[ChildRun]:
    """Every trial of ``job_name`` as plain :class:`~asl_recognition.azure.gateway.ChildRun` records.

    ``parameters`` are the sampled input names, reported as ``--name value`` arguments. Metrics
    stay empty: SDK v2 keeps them in the workspace's MLflow store, not on the job entity.
    """
    out: list[ChildRun] = []
    for child in client.jobs.list(parent_job_name=job_name):
        inputs = getattr(child, "inputs", None) or {}
        arguments: list[str] = []
        for name in parameters:
            if name in inputs:
                value = inputs[name]
                arguments += [f"--{name}", str(getattr(value, "_data", value))]
        out.append(
            ChildRun(
                id=str(child.name),
                arguments=arguments,
                properties=dict(getattr(child, "properties", None) or {}),
                status=str(child.status),
                duration_s=_duration(child),
                handle=child,
            )
        )
    return out


def download(client: Any, job_name: str, *, destination: Path, output_name: str | None = None) -> Path:
    """Download a job's named output ``output_name`` (None: its default artifacts); return the folder."""
    destination.mkdir(parents=True, exist_ok=True)
    client.jobs.download(job_name, download_path=str(destination), output_name=output_name)
    return destination / (f"{NAMED_OUTPUTS}/{output_name}" if output_name else ARTIFACTS)
