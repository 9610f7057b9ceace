"""The ``hyperdrive`` backend on Azure (SDK v1): HyperDrive over the library's one CNN training script.

The search space, policy and budgets come from the same sweep config the local sweep uses
(:class:`~asl_recognition.trainers.cnn.sweep.SweepSpec`, e.g. ``conf/sweep/seed.yaml``); the
primary metric name is the training script's constant
(:data:`~asl_recognition.trainers.cnn.metrics.PRIMARY_METRIC`). Each child run executes
``train.py`` with the fixed hyperparameters plus the sampled ones; the data reaches it as a
downloaded (or mounted) file dataset through the same ``--data`` argument a local run gets a
path in. The best run's ``outputs/model`` (a saved TrainedModel) is downloaded, registered and
returned.

Every Azure call goes through the adapter (:mod:`asl_recognition.azure`): this module decides
what to run (script, arguments, search space, metric) and what the result means; the adapter
builds the SDK objects and talks to Azure.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition.azure import jobs
from asl_recognition.azure.compute import ensure_compute
from asl_recognition.azure.datasets import ensure_dataset
from asl_recognition.azure.environment import build_environment
from asl_recognition.azure.gateway import AzureGateway
from asl_recognition.azure.settings import AzureSettings
from asl_recognition.trainers._azure_trials import trial_records
from asl_recognition.trainers._hyperdrive_shared import (
    MODEL_PREFIX,
    SCRIPT,
    fixed_arguments,
    prepare_source_directory,
    sweep_plan,
)
from asl_recognition.trainers.base import TrainResult, validation_metrics
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
from asl_recognition.trainers.cnn.sweep import SweepSpec

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = [
    "MODEL_PREFIX",
    "SCRIPT",
    "fixed_arguments",
    "hyperdrive_config",
    "prepare_source_directory",
    "run_hyperdrive",
    "script_run_config",
]


def script_run_config(
    *,
    source_directory: Path,
    compute_target: Any,
    environment: Any,
    data: Any,
    validation: Any | None,
    arguments: Sequence[str],
) -> Any:
    """The ``ScriptRunConfig`` of one child run (HyperDrive appends the sampled arguments)."""
    args: list[Any] = ["--data", data]
    if validation is not None:
        args += ["--validation", validation]
    args += ["--output_dir", MODEL_PREFIX, *arguments]
    return jobs.script_run_config(
        source_directory=source_directory,
        script=SCRIPT,
        arguments=args,
        compute_target=compute_target,
        environment=environment,
    )


def hyperdrive_config(spec: SweepSpec, run_config: Any) -> Any:
    """The ``HyperDriveConfig`` for ``spec`` (random sampling, median stopping, budgets)."""
    plan = sweep_plan(spec)
    return jobs.hyperdrive_config(
        run_config,
        sampling=plan.space,
        primary_metric=PRIMARY_METRIC,
        goal=plan.goal,
        max_total_runs=plan.max_total,
        max_concurrent_runs=plan.max_concurrent,
        median_stopping=plan.median_stopping,
    )


def run_hyperdrive(
    gateway: AzureGateway,
    settings: AzureSettings,
    *,
    spec: SweepSpec,
    base: TrainConfig,
    train: Dataset,
    validation: Dataset | None,
    wheel: str | Path | None,
    data_mode: jobs.DataMode = "download",
    environment_name: str = "asl-recognition-train",
    model_name: str = "asl-cnn",
) -> TrainResult:
    """Register the data, submit the sweep, wait, download and register the best model."""
    from asl_recognition.models import load_model

    start = time.perf_counter()
    compute = ensure_compute(gateway, settings.compute)
    name = settings.dataset_name
    train_data = ensure_dataset(gateway, train, name=name, description="Sign Language MNIST training data")
    val_input = None
    if validation is not None:
        val_data = ensure_dataset(
            gateway, validation, name=f"{name}-validation", description="leak-free validation split"
        )
        val_input = jobs.named_input(val_data.files, "validation", data_mode)
    env = build_environment(environment_name, gateway=gateway, wheel=wheel, extras=("keras",))
    with tempfile.TemporaryDirectory(prefix="asl-hyperdrive-") as tmp:
        src = prepare_source_directory(Path(tmp) / "src")
        run_config = script_run_config(
            source_directory=src,
            compute_target=compute,
            environment=env,
            data=jobs.named_input(train_data.files, "train", data_mode),
            validation=val_input,
            arguments=[*fixed_arguments(base, spec.space), "--data_fingerprint", train.fingerprint],
        )
        config = hyperdrive_config(spec, run_config)
        run = jobs.submit(gateway, settings.experiment_name, config, tags={"backend": "hyperdrive"}, what="HyperDrive")
    best = jobs.best_child(gateway, run, metric=PRIMARY_METRIC, show_output=settings.show_output, what="HyperDrive")
    workdir = Path(tempfile.mkdtemp(prefix="asl-hyperdrive-best-"))
    model_dir = gateway.download(best, prefix=MODEL_PREFIX, destination=workdir)
    model = load_model(model_dir)
    registered = gateway.register_model(
        model_dir,
        name=model_name,
        tags={"backend": "hyperdrive", "run_id": best.id},
        description="best HyperDrive CNN",
    )
    model.metadata.extra["azure"] = {
        "run_id": run.id,
        "best_run_id": best.id,
        "model": f"{registered.name}:{registered.version}",
    }
    metrics = validation_metrics(model, validation) if validation is not None else dict(model.metadata.metrics)
    return TrainResult(
        model=model,
        metrics={k: float(v) for k, v in metrics.items()},
        hyperparameters=dict(model.metadata.hyperparameters),
        timings={"fit_s": time.perf_counter() - start},
        trials=trial_records(gateway.children(run), metric=PRIMARY_METRIC),
        backend="hyperdrive",
    )
