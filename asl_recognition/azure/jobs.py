"""Experiment runs (SDK v1): configuration objects from plain values, submission, completion.

The backends decide *what* runs (which settings, which script, which arguments, which metric);
this module only turns those plain values into the SDK's configuration objects
(``AutoMLConfig``, ``ScriptRunConfig``, ``HyperDriveConfig``, dataset inputs) and drives a
submitted run through the gateway until its best child run is known.

>>> run = script_run_config(source_directory=Path("src"), script="train.py", arguments=["--epochs", 3],
...     compute_target="cpu-cluster", environment=None)
>>> cfg = hyperdrive_config(
...     run, sampling={"--hidden": ("choice", ([50, 100],))}, primary_metric="val_accuracy",
...     goal="maximize", max_total_runs=4, max_concurrent_runs=2,
...     median_stopping={"evaluation_interval": 1, "delay_evaluation": 5})
>>> cfg._primary_metric_config, cfg._policy_config["name"]
({'name': 'val_accuracy', 'goal': 'maximize'}, 'MedianStopping')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.gateway import AzureGateway, ChildRun, SubmittedRun
from asl_recognition.errors import ConfigurationError, TrainingError

require_azureml()

from azureml.core import ScriptRunConfig  # noqa: E402
from azureml.train import hyperdrive  # noqa: E402
from azureml.train.automl import AutoMLConfig  # noqa: E402

__all__ = [
    "DataMode",
    "Goal",
    "automl_config",
    "best_child",
    "hyperdrive_config",
    "named_input",
    "parameter_sampling",
    "script_run_config",
    "submit",
]

log = logging.getLogger(__name__)

#: how a file dataset reaches a script: downloaded to local disk or mounted
DataMode = Literal["download", "mount"]
#: direction of a sweep's primary metric
Goal = Literal["maximize", "minimize"]


def automl_config(
    settings: Mapping[str, Any],
    *,
    compute_target: Any,
    training_data: Any,
    validation_data: Any,
) -> AutoMLConfig:
    """``AutoMLConfig(compute_target=..., training_data=..., validation_data=..., **settings)``.

    The SDK's own errors for bad settings (``ConfigException`` and others) become a
    :class:`ConfigurationError` that shows the settings.
    """
    try:
        return AutoMLConfig(
            compute_target=compute_target,
            training_data=training_data,
            validation_data=validation_data,
            **settings,
        )
    except Exception as exc:  # the SDK raises ConfigException & co. for bad settings
        raise ConfigurationError(f"invalid AutoML settings {dict(settings)}: {exc}") from exc


def named_input(files: Any, name: str, mode: DataMode) -> Any:
    """The file dataset ``files`` as script input ``name``, downloaded or mounted."""
    consumption = files.as_named_input(name)
    return consumption.as_download() if mode == "download" else consumption.as_mount()


def script_run_config(
    *,
    source_directory: Path,
    script: str,
    arguments: Sequence[Any],
    compute_target: Any,
    environment: Any,
) -> ScriptRunConfig:
    """``ScriptRunConfig`` running ``script`` from ``source_directory`` with ``arguments``."""
    return ScriptRunConfig(
        source_directory=str(source_directory),
        script=script,
        arguments=list(arguments),
        compute_target=compute_target,
        environment=environment,
    )


def parameter_sampling(expressions: Mapping[str, tuple[str, Sequence[Any]]]) -> Any:
    """``RandomParameterSampling`` from ``{"--name": (expression, args)}``.

    ``expression`` names a function of ``azureml.train.hyperdrive`` (``choice``, ``uniform``,
    ``loguniform``, ...), called with ``args``.
    """
    built: dict[str, Any] = {}
    for name, (kind, args) in expressions.items():
        function = getattr(hyperdrive, kind, None)
        if function is None:
            raise ConfigurationError(f"parameter {name!r}: {kind!r} is not a HyperDrive sampling expression")
        built[name] = function(*args)
    return hyperdrive.RandomParameterSampling(built)


def hyperdrive_config(
    run_config: Any,
    *,
    sampling: Mapping[str, tuple[str, Sequence[Any]]],
    primary_metric: str,
    goal: Goal,
    max_total_runs: int,
    max_concurrent_runs: int,
    median_stopping: Mapping[str, int] | None = None,
) -> Any:
    """``HyperDriveConfig``: random sampling over ``sampling``, optional median stopping.

    ``median_stopping`` holds ``MedianStoppingPolicy`` keywords (``evaluation_interval``,
    ``delay_evaluation``); None runs every child to the end.
    """
    policy = hyperdrive.MedianStoppingPolicy(**median_stopping) if median_stopping is not None else None
    return hyperdrive.HyperDriveConfig(
        run_config=run_config,
        hyperparameter_sampling=parameter_sampling(sampling),
        policy=policy,
        primary_metric_name=primary_metric,
        primary_metric_goal=(
            hyperdrive.PrimaryMetricGoal.MAXIMIZE if goal == "maximize" else hyperdrive.PrimaryMetricGoal.MINIMIZE
        ),
        max_total_runs=max_total_runs,
        max_concurrent_runs=max_concurrent_runs,
    )


def submit(gateway: AzureGateway, experiment: str, config: Any, *, tags: Mapping[str, str], what: str) -> SubmittedRun:
    """Submit ``config`` to ``experiment`` through ``gateway`` and log where to watch it."""
    run = gateway.submit(experiment, config, tags=tags)
    log.info("azure: %s run %s submitted (%s)", what, run.id, run.portal_url)
    return run


def best_child(gateway: AzureGateway, run: SubmittedRun, *, metric: str, show_output: bool, what: str) -> ChildRun:
    """Wait for ``run`` (streaming its progress) and return its best child run by ``metric``.

    A run that ends in any state but ``Completed`` raises :class:`TrainingError` with its
    portal address.
    """
    status = gateway.wait(run, show_output=show_output)
    if status != "Completed":
        raise TrainingError(f"{what} run {run.id} ended with status {status!r}; see {run.portal_url}")
    return gateway.best_child(run, metric=metric)
