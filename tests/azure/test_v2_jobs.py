"""Azure ML SDK v2 offline: the real entities (AmlCompute, Data, Environment, command, SweepJob,
ClassificationJob) built by the v2 backends, what they would send through a real MLClient whose
operations are recorded, and a realistic best result replayed through download and wrapping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from asl_recognition.testing import synthetic_dataset

pytestmark = pytest.mark.azure
pytest.importorskip("azure.ai.ml", reason="needs the azure extra")

TINY_SWEEP = {
    "parameter_space": {"--hidden": "choice(16, 32)", "--dropout": "uniform(0.1, 0.5)"},
    "policy": {"type": "median", "evaluation_interval": 1, "delay_evaluation": 2},
    "max_total_runs": 4,
    "max_concurrent_runs": 2,
}


def test_v2_is_the_default_for_compute_azure_and_v1_stays_selectable(v2_azure: dict[str, Any]) -> None:
    from asl_recognition.trainers.base import get_trainer

    for name in ("hyperdrive", "automl"):
        assert get_trainer(name, compute="azure", azure=v2_azure).azure_sdk == "v2"
        assert get_trainer(name, compute="azure", azure=v2_azure, azure_sdk="v1").azure_sdk == "v1"
    from asl_recognition.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'azure_sdk' must be one of v2, v1"):
        get_trainer("automl", compute="azure", azure=v2_azure, azure_sdk="v3")


def test_sweep_job_from_the_shipped_seed_sweep(tmp_path: Path) -> None:
    from azure.ai.ml.entities import Command, Environment
    from azure.ai.ml.sweep import Choice, MedianStoppingPolicy, SweepJob

    from asl_recognition.azure_v2.data import DataAsset
    from asl_recognition.azure_v2.environment import build_environment
    from asl_recognition.trainers._hyperdrive_azure_v2 import sweep_command, sweep_job
    from asl_recognition.trainers.cnn.config import TrainConfig
    from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
    from asl_recognition.trainers.cnn.sweep import SweepSpec, load_sweep_config

    spec = SweepSpec.from_config(load_sweep_config("seed"))
    env = build_environment("asl-train", extras=("keras",))
    assert isinstance(env, Environment)
    pip = env.conda_file["dependencies"][-1]["pip"]
    assert any(p.startswith("keras==") for p in pip) and all("==" in p or ">" in p for p in pip)
    command = sweep_command(
        spec, TrainConfig(arch="seed"), code=tmp_path, data=DataAsset("d", "3", "uri_file"),
        validation=DataAsset("d-validation", "1", "uri_file"), data_fingerprint="sha256:x",
        environment=env, compute="gpu-cluster", experiment_name="asl",
    )  # fmt: skip
    assert isinstance(command, Command)
    assert command.inputs["data"].path == "azureml:d:3" and command.inputs["data"].mode == "download"
    assert command.inputs["validation"].path == "azureml:d-validation:1"
    text = command.command
    assert text.startswith("python train.py --data ${{inputs.data}} --validation ${{inputs.validation}}")
    assert "--output_dir ${{outputs.model}}/model" in text and "--arch seed" in text
    assert "--hidden ${{inputs.hidden}}" in text and text.count("--hidden") == 1
    sweep = sweep_job(spec, command, compute="gpu-cluster")
    assert isinstance(sweep, SweepJob)
    assert (sweep.objective.primary_metric, sweep.objective.goal.lower()) == (PRIMARY_METRIC, "maximize")
    assert sweep.sampling_algorithm == "random" and sweep.experiment_name == "asl" and sweep.compute == "gpu-cluster"
    assert sweep.inputs["data"].path == "azureml:d:3" and "model" in sweep.outputs
    assert "--hidden ${{search_space.hidden}}" in sweep.trial.command
    assert (sweep.limits.max_total_trials, sweep.limits.max_concurrent_trials) == (50, 10)
    policy = sweep.early_termination
    assert isinstance(policy, MedianStoppingPolicy)
    assert (policy.evaluation_interval, policy.delay_evaluation) == (1, 0)
    assert isinstance(sweep.search_space["hidden"], Choice)
    assert sweep.search_space["hidden"].values == [50, 100, 200, 300]
    assert set(sweep.search_space) == {"hidden", "batch_size", "epochs", "dropout"}
    # the REST form the service receives
    rest = sweep._to_rest_object().properties
    assert rest.objective.primary_metric == PRIMARY_METRIC
    assert rest.early_termination.policy_type == "MedianStopping"


def test_sweep_rejects_a_metric_the_script_does_not_log(tmp_path: Path) -> None:
    from asl_recognition.errors import ConfigurationError
    from asl_recognition.trainers._hyperdrive_azure_v2 import sweep_job
    from asl_recognition.trainers.cnn.sweep import SweepSpec

    spec = SweepSpec.from_config({**TINY_SWEEP, "primary_metric_name": "accuracy"})
    with pytest.raises(ConfigurationError, match="val_accuracy"):
        sweep_job(spec, None, compute="c")


def test_automl_settings_map_to_v2_names() -> None:
    from azure.ai.ml import Input
    from azure.ai.ml.automl import ClassificationJob

    from asl_recognition.errors import ConfigurationError
    from asl_recognition.trainers._automl_azure_v2 import classification_job, v2_settings

    data = Input(type="mltable", path="azureml:d:1")
    job = classification_job(
        {"max_concurrent_iterations": 4, "experiment_timeout_minutes": 30},
        (data, Input(type="mltable", path="azureml:v:1")), compute="asl-cpu", experiment_name="asl",
    )
    assert isinstance(job, ClassificationJob)
    assert job.primary_metric.lower() == "accuracy" and job.target_column_name == "label"
    assert job.validation_data.path == "azureml:v:1" and job.n_cross_validations is None
    assert job.limits.max_concurrent_trials == 4
    assert job.limits.timeout_minutes == 30  # the override beats the seed's 1.1 hours
    assert job.limits.trial_timeout_minutes == 10 and job.limits.enable_early_termination is True
    assert job.training.enable_onnx_compatible_models is True
    assert job.compute == "asl-cpu"
    assert v2_settings(None)["limits"]["timeout_minutes"] == 66
    with pytest.raises(ConfigurationError, match="n_cross_validations"):
        v2_settings({"n_cross_validations": 5})
    with pytest.raises(ConfigurationError, match="enable_onnx_compatible_models"):
        v2_settings({"enable_onnx_compatible_models": False})
    with pytest.raises(ConfigurationError, match=r"\[.spark_service.\] have no SDK v2 counterpart"):
        v2_settings({"spark_service": "x"})


def test_compute_and_data_assets(make_v2: Any) -> None:
    from azure.ai.ml.entities import AmlCompute, Data

    from asl_recognition.azure.settings import ComputeSettings
    from asl_recognition.azure_v2.compute import ensure_compute
    from asl_recognition.azure_v2.data import ensure_data

    rec = make_v2()
    settings = ComputeSettings(
        name="asl-cpu", max_nodes=3, idle_seconds_before_scaledown=600, vm_priority="lowpriority"
    )
    assert ensure_compute(rec.client, settings) == "asl-cpu"
    (created,) = rec.called("compute.begin_create_or_update")
    compute = created["compute"]
    assert isinstance(compute, AmlCompute)
    assert (compute.min_instances, compute.max_instances, compute.idle_time_before_scale_down) == (0, 3, 600)
    assert compute.tier == "low_priority"
    assert compute._to_rest_object().properties.properties.scale_settings.node_idle_time_before_scale_down

    ds = synthetic_dataset(3, seed=0)
    first = ensure_data(rec.client, ds, name="asl-mltable", kind="mltable", description="x")
    (upload,) = rec.called("data.create_or_update")
    assert isinstance(upload["data"], Data) and upload["data"].type == "mltable"
    assert upload["files"] == ["MLTable", "sign_language_mnist.csv"] and "read_delimited" in upload["mltable"]
    np.testing.assert_array_equal(upload["rows"][:, 0], ds.labels)
    assert upload["data"].tags["fingerprint"] == ds.fingerprint and first.uri == "azureml:asl-mltable:1"
    again = ensure_data(rec.client, ds, name="asl-mltable", kind="mltable", description="x")
    assert again.reused and len(rec.called("data.create_or_update")) == 1
    other = ensure_data(rec.client, synthetic_dataset(3, seed=5), name="asl-mltable", kind="mltable", description="x")
    assert other.version == "2"


def test_automl_fit_through_the_boundary(tmp_path: Path, make_v2: Any, make_onnx: Any, v2_azure: Any) -> None:
    from azure.ai.ml.automl import ClassificationJob

    from asl_recognition.models import load_model
    from asl_recognition.trainers.base import get_trainer

    train, validation = synthetic_dataset(10, seed=0), synthetic_dataset(4, seed=1)
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(make_onnx(train.images, train.labels))
    children = [
        SimpleNamespace(name="job-1_3", status="Completed", properties={"run_algorithm": "LogisticRegression"}),
        SimpleNamespace(name="job-1_4", status="Failed", properties={"run_algorithm": "LightGBM"}),
    ]
    rec = make_v2(best="job-1_3", outputs={None: {"outputs/model.onnx": onnx_file}}, children=children)
    trainer = get_trainer("automl", compute="azure", azure=v2_azure, ml_client=rec.client,
                          automl_settings={"max_concurrent_iterations": 4})  # fmt: skip
    result = trainer.fit(train, validation=validation, seed=0)

    uploads = {c["data"].name: c for c in rec.called("data.create_or_update")}
    assert set(uploads) == {"sign-language-mnist-mltable", "sign-language-mnist-mltable-validation"}
    np.testing.assert_array_equal(uploads["sign-language-mnist-mltable-validation"]["rows"][:, 0], validation.labels)
    (submitted,) = rec.called("jobs.create_or_update")
    job = submitted["job"]
    assert isinstance(job, ClassificationJob) and job.limits.max_concurrent_trials == 4
    assert job.validation_data.path.startswith("azureml:sign-language-mnist-mltable-validation:")
    assert rec.called("jobs.stream") == [{"name": "job-1"}]
    assert rec.called("jobs.download") == [
        {"name": "job-1_3", "download_path": rec.called("jobs.download")[0]["download_path"], "output_name": None}
    ]
    model = result.model
    assert model.metadata.extra["onnx"] == {"input_layout": "columns", "input_dtype": "float32"}
    assert model.metadata.extra["azure"]["sdk"] == "v2" and model.metadata.hyperparameters["algorithm"] == (
        "LogisticRegression"
    )
    expected = float((model.predict(validation.images) == validation.labels).mean())
    assert result.metrics["validation_accuracy"] == pytest.approx(expected) and expected > 0.8
    assert [t.state for t in result.trials] == ["complete", "failed"]
    again = load_model(model.save(tmp_path / "saved"))
    np.testing.assert_allclose(again.predict_proba(validation.images), model.predict_proba(validation.images),
                               rtol=1e-6)  # fmt: skip


def test_failed_job_and_missing_onnx_are_clear_errors(make_v2: Any, v2_azure: Any) -> None:
    from asl_recognition.errors import TrainingError
    from asl_recognition.trainers.base import get_trainer

    trainer = get_trainer("automl", compute="azure", azure=v2_azure, ml_client=make_v2(final_status="Failed").client)
    with pytest.raises(TrainingError, match="ended with status 'Failed'; see https://ml.azure.com/runs/job-1"):
        trainer.fit(synthetic_dataset(3), validation=synthetic_dataset(2, seed=1))
    trainer.ml_client = make_v2(outputs={None: {}}).client
    with pytest.raises(TrainingError, match="outputs/model.onnx"):
        trainer.fit(synthetic_dataset(3), validation=synthetic_dataset(2, seed=1))


@pytest.mark.slow
@pytest.mark.keras
def test_sweep_fit_runs_the_real_script_from_the_code_snapshot(tmp_path: Path, make_v2: Any, v2_azure: Any) -> None:
    """Submit (recorded), run one trial's command for real in the uploaded code snapshot, then
    replay its model output as the best trial through download, registration and wrapping."""
    pytest.importorskip("keras")
    from asl_recognition.azure.datasets import CSV_NAME, write_csv
    from asl_recognition.trainers.base import get_trainer

    train, validation = synthetic_dataset(6, seed=0), synthetic_dataset(3, seed=1)
    rec = make_v2(outputs={"model": {}})
    trainer = get_trainer("hyperdrive", compute="azure", sweep=TINY_SWEEP, azure=v2_azure, ml_client=rec.client,
                          arch="seed", epochs=1, batch_size=32, augment=False)  # fmt: skip
    with pytest.raises(Exception, match="not a model directory"):  # nothing to replay yet
        trainer.fit(train, validation=validation, seed=0)
    (submitted,) = rec.called("jobs.create_or_update")
    sweep = submitted["job"]
    assert "train.py" in submitted["snapshot"] and "asl_recognition" in submitted["snapshot"]
    assert sweep.limits.max_total_trials == 4 and sweep.early_termination.delay_evaluation == 2
    pip = sweep.trial.environment.conda_file["dependencies"][-1]["pip"]
    assert "azureml-mlflow" in pip and any(p.startswith("keras==") for p in pip)  # metrics reach the workspace

    # one trial, as the service would run it: inputs downloaded, a sample drawn, outputs mounted
    mnt = tmp_path / "mnt"
    values = {
        "inputs.data": str(write_csv(train, mnt / "train" / CSV_NAME)),
        "inputs.validation": str(write_csv(validation, mnt / "validation" / CSV_NAME)),
        "outputs.model": str(mnt / "outputs"),
        "search_space.hidden": "16",
        "search_space.dropout": "0.25",
    }
    (mnt / "outputs").mkdir()
    line = re.sub(r"\$\{\{([a-z_.]+)\}\}", lambda m: values[m.group(1)], sweep.trial.command)
    code = rec.code_dirs[0]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(line.replace("python ", f"{sys.executable} ", 1), shell=True, cwd=code,
                          capture_output=True, text=True, timeout=600,
                          env={**env, "CUDA_VISIBLE_DEVICES": ""})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    model_dir = mnt / "outputs" / "model"
    assert (model_dir / "asl_model.json").is_file()

    children = [
        SimpleNamespace(name="job-1_2", status="Completed", inputs={"hidden": 16, "dropout": 0.25}),
        SimpleNamespace(name="job-1_1", status="Canceled", inputs={"hidden": 32}),
    ]
    rec2 = make_v2(best="job-1_2", outputs={"model": {"model": model_dir}}, children=children)
    trainer.ml_client = rec2.client
    result = trainer.fit(train, validation=validation, seed=0)
    assert rec2.called("jobs.download")[0]["name"] == "job-1_2"
    assert rec2.called("jobs.download")[0]["output_name"] == "model"
    (registered,) = rec2.called("models.create_or_update")
    assert registered["model"].name == "asl-cnn" and "asl_model.json" in registered["files"]
    assert result.model.metadata.extra["azure"]["best_job"] == "job-1_2"
    assert 0.0 <= result.metrics["validation_accuracy"] <= 1.0
    assert [t.state for t in result.trials] == ["complete", "pruned"]
    assert result.trials[0].params["hidden"] == "16"
