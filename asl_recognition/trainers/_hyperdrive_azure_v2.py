"""The ``hyperdrive`` backend on Azure ML SDK v2: a ``command`` job of the CNN training script, swept.

The same sweep config as the local sweep and SDK v1
(:class:`~asl_recognition.trainers.cnn.sweep.SweepSpec`, e.g. ``conf/sweep/seed.yaml``) becomes
``command(...).sweep(...)``: random sampling over the same search space (converted by
:func:`asl_recognition.azure_v2.jobs.sweep_distribution`), ``MedianStoppingPolicy`` with the
config's ``evaluation_interval`` and ``delay_evaluation``, ``max_total_trials``,
``max_concurrent_trials``, and the training script's one metric
(:data:`~asl_recognition.trainers.cnn.metrics.PRIMARY_METRIC`) as the primary metric. Each trial
runs ``python train.py`` with the fixed hyperparameters, the sampled ones as
``${{inputs.<name>}}``, the registered training CSV and leak-free validation split as
``uri_file`` inputs, and ``${{outputs.model}}`` for the saved model. The library travels in the
code snapshot beside the script. The best trial's model output is downloaded, registered and
returned as a :class:`~asl_recognition.models.base.TrainedModel`.

Every Azure call goes through the adapter (:mod:`asl_recognition.azure_v2`): this module decides
what to run and what the result means.
"""

from __future__ import annotations

import shlex
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from asl_recognition.azure.settings import AzureSettings
from asl_recognition.azure_v2 import jobs
from asl_recognition.azure_v2.compute import ensure_compute
from asl_recognition.azure_v2.data import DataAsset, ensure_data, job_input, register_model
from asl_recognition.azure_v2.environment import build_environment, library_snapshot
from asl_recognition.trainers._azure_trials import trial_records
from asl_recognition.trainers._hyperdrive_shared import (
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

__all__ = ["MODEL_OUTPUT", "MODEL_SUBDIR", "run_hyperdrive_v2", "sweep_command", "sweep_job"]

#: the job output holding the trial's model, and the folder inside it the script saves into
#: (a subfolder: the model is renamed into place atomically, which a mount point cannot be)
MODEL_OUTPUT = "model"
MODEL_SUBDIR = "model"
_MODES = {"download": "download", "mount": "ro_mount"}


def sweep_command(
    spec: SweepSpec,
    base: TrainConfig,
    *,
    code: Path,
    data: DataAsset,
    validation: DataAsset | None,
    data_fingerprint: str,
    environment: Any,
    compute: str,
    experiment_name: str,
    data_mode: Literal["download", "mount"] = "download",
) -> Any:
    """The ``command`` job of one trial: the script, fixed arguments, sampled inputs, model output."""
    swept = spec.space.names()
    parts = ["python", SCRIPT, "--data", "${{inputs.data}}"]
    inputs: dict[str, Any] = {"data": job_input(data, mode=_MODES[data_mode])}
    if validation is not None:
        parts += ["--validation", "${{inputs.validation}}"]
        inputs["validation"] = job_input(validation, mode=_MODES[data_mode])
    parts += ["--output_dir", f"${{{{outputs.{MODEL_OUTPUT}}}}}/{MODEL_SUBDIR}"]
    parts += [*fixed_arguments(base, spec.space), "--data_fingerprint", data_fingerprint]
    defaults = base.to_dict()
    for name in swept:
        parts += [f"--{name}", f"${{{{inputs.{name}}}}}"]
        inputs[name] = defaults[name]
    return jobs.command_job(
        code=code,
        command=" ".join(p if p.startswith("${{") else shlex.quote(p) for p in parts),
        inputs=inputs,
        outputs={MODEL_OUTPUT: jobs.folder_output()},
        environment=environment,
        compute=compute,
        experiment_name=experiment_name,
        display_name="asl-cnn-trial",
        tags={"backend": "hyperdrive"},
    )


def sweep_job(spec: SweepSpec, command: Any, *, compute: str) -> Any:
    """The ``SweepJob`` for ``spec`` over ``command`` (random sampling, median stopping, budgets)."""
    plan = sweep_plan(spec)
    limits = {"max_total_trials": plan.max_total, "max_concurrent_trials": plan.max_concurrent}
    return jobs.sweep_job(command, search_space=plan.space, objective=(PRIMARY_METRIC, plan.goal), limits=limits,
                          median_stopping=plan.median_stopping, compute=compute)  # fmt: skip


def run_hyperdrive_v2(
    client: Any,
    settings: AzureSettings,
    *,
    spec: SweepSpec,
    base: TrainConfig,
    train: Dataset,
    validation: Dataset | None,
    data_mode: Literal["download", "mount"] = "download",
    environment_name: str = "asl-recognition-train",
    model_name: str = "asl-cnn",
) -> TrainResult:
    """Register the data, submit the sweep, stream it, download and register the best trial's model."""
    name = settings.dataset_name
    start = time.perf_counter()
    compute = ensure_compute(client, settings.compute)
    train_asset = ensure_data(
        client, train, name=name, kind="uri_file", description="Sign Language MNIST training data"
    )
    val_asset = None
    if validation is not None:
        val_asset = ensure_data(
            client, validation, name=f"{name}-validation", kind="uri_file", description="leak-free validation split"
        )
    # mlflow + azureml-mlflow: the script's metrics reach the workspace's MLflow store, which the
    # sweep reads its primary metric from
    env = build_environment(environment_name, extras=("keras", "mlflow"), extra_pip=("azureml-mlflow",))
    with tempfile.TemporaryDirectory(prefix="asl-sweep-v2-") as tmp:
        code = library_snapshot(prepare_source_directory(Path(tmp) / "src"))
        command = sweep_command(
            spec, base, code=code, data=train_asset, validation=val_asset, data_fingerprint=train.fingerprint,
            environment=env, compute=compute, experiment_name=settings.experiment_name, data_mode=data_mode,
        )  # fmt: skip
        submitted = jobs.submit(client, sweep_job(spec, command, compute=compute), what="sweep")
    final = jobs.wait(client, submitted, show_output=settings.show_output, what="sweep")
    best = jobs.best_child_name(final, what="sweep")
    workdir = Path(tempfile.mkdtemp(prefix="asl-sweep-v2-best-"))
    model_dir = jobs.download(client, best, destination=workdir, output_name=MODEL_OUTPUT) / MODEL_SUBDIR
    from asl_recognition.models import load_model

    model = load_model(model_dir)
    registered = register_model(
        client, model_dir, name=model_name, tags={"backend": "hyperdrive", "job": best}, description="best sweep CNN"
    )
    model.metadata.extra["azure"] = {"sdk": "v2", "job": final.name, "best_job": best, "model": registered}
    metrics = validation_metrics(model, validation) if validation is not None else dict(model.metadata.metrics)
    trials = trial_records(jobs.children(client, final.name, parameters=spec.space.names()), metric=PRIMARY_METRIC)
    return TrainResult(
        model=model,
        metrics={k: float(v) for k, v in metrics.items()},
        hyperparameters=dict(model.metadata.hyperparameters),
        timings={"fit_s": time.perf_counter() - start},
        trials=trials,
        backend="hyperdrive",
    )
