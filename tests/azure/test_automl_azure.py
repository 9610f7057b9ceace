"""Azure AutoML offline: the real AutoMLConfig, the submission, and the ONNX best-model path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition.errors import ConfigurationError
from asl_recognition.testing import synthetic_dataset

pytestmark = pytest.mark.azure


def test_seed_settings_are_the_defaults() -> None:
    from azureml.data.dataset_factory import TabularDatasetFactory
    from azureml.train.automl import AutoMLConfig

    from asl_recognition.trainers._automl_azure import automl_config

    ds = TabularDatasetFactory.from_delimited_files(
        path="https://example.invalid/x.csv", validate=False, infer_column_types=False
    )
    cfg = automl_config(None, compute_target="cpu", training_data=ds, validation_data=ds)
    assert isinstance(cfg, AutoMLConfig)
    u = cfg.user_settings
    assert u["primary_metric"] == "accuracy" and u["label_column_name"] == "label"
    assert u["experiment_timeout_minutes"] == 66  # 1.1 h
    assert u["iteration_timeout_minutes"] == 10 and u["max_concurrent_iterations"] == 10
    assert u["enable_early_stopping"] is True and u["enable_onnx_compatible_models"] is True
    assert u["validation_data"] is ds and u["n_cross_validations"] is None
    over = automl_config(
        {"max_concurrent_iterations": 2, "experiment_timeout_hours": 0.5},
        compute_target="cpu",
        training_data=ds,
        validation_data=ds,
    )
    assert over.user_settings["max_concurrent_iterations"] == 2
    assert over.user_settings["experiment_timeout_minutes"] == 30
    with pytest.raises(ConfigurationError, match="n_cross_validations"):
        automl_config({"n_cross_validations": 5}, compute_target="cpu", training_data=ds, validation_data=ds)
    with pytest.raises(ConfigurationError, match="enable_onnx_compatible_models"):
        automl_config(
            {"enable_onnx_compatible_models": False}, compute_target="cpu", training_data=ds, validation_data=ds
        )


def test_fit_on_azure_through_the_boundary(
    tmp_path: Path, make_gateway: Any, make_onnx: Any, azure_settings: Any
) -> None:
    from azureml.train.automl import AutoMLConfig

    from asl_recognition.azure.gateway import ChildRun
    from asl_recognition.models import load_model
    from asl_recognition.trainers.base import get_trainer

    train = synthetic_dataset(10, seed=0)
    validation = synthetic_dataset(4, seed=1)
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(make_onnx(train.images, train.labels))
    best = ChildRun(
        "run-1_7",
        metrics={"accuracy": 0.97, "AUC_weighted": 0.99},
        files=["outputs/model.onnx", "outputs/model.pkl", "outputs/scoring_file_v_1_0_0.py"],
        properties={"run_algorithm": "LogisticRegression"},
    )
    children = [
        best,
        ChildRun("run-1_3", metrics={"accuracy": 0.5}, status="Failed", properties={"run_algorithm": "LightGBM"}),
    ]
    gw = make_gateway(best=best, files={"outputs/model.onnx": onnx_file}, children=children)

    trainer = get_trainer(
        "automl",
        compute="azure",
        azure_sdk="v1",
        gateway=gw,
        azure=dict(
            workspace={"subscription_id": "s", "resource_group": "g", "workspace_name": "w"},
            compute={"name": "asl-cpu", "idle_seconds_before_scaledown": 600},
            show_output=False,
        ),
        automl_settings={"max_concurrent_iterations": 4},
    )
    result = trainer.fit(train, validation=validation, seed=0)

    # what would have been sent
    (created,) = gw.called("create_compute")
    assert created["config"].scale_settings.idle_seconds_before_scaledown == 600
    uploads = {c["name"]: c for c in gw.called("upload_dataset")}
    assert set(uploads) == {"sign-language-mnist", "sign-language-mnist-validation"}
    assert uploads["sign-language-mnist"]["tags"]["fingerprint"] == train.fingerprint
    np.testing.assert_array_equal(gw.uploaded["sign-language-mnist-validation"][:, 0], validation.labels)
    (submitted,) = gw.called("submit")
    cfg = submitted["config"]
    assert isinstance(cfg, AutoMLConfig)
    assert cfg.user_settings["max_concurrent_iterations"] == 4
    assert cfg.user_settings["validation_data"] is not None
    assert cfg.user_settings["compute_target"] == "asl-cpu"
    assert gw.called("download")[0]["prefix"] == "outputs/model.onnx"

    # what came back: an ONNX model fed 784 columns, with honest local validation metrics
    model = result.model
    assert model.metadata.extra["onnx"] == {"input_layout": "columns", "input_dtype": "float32"}
    expected = float((model.predict(validation.images) == validation.labels).mean())
    assert result.metrics["validation_accuracy"] == pytest.approx(expected)
    assert expected > 0.8
    assert [t.state for t in result.trials] == ["complete", "failed"]
    assert result.trials[0].params["run_algorithm"] == "LogisticRegression"
    saved = model.save(tmp_path / "saved")
    again = load_model(saved)
    np.testing.assert_allclose(
        again.predict_proba(validation.images), model.predict_proba(validation.images), rtol=1e-6
    )


def test_best_run_without_onnx_is_a_clear_error(tmp_path: Path, make_gateway: Any, azure_settings: Any) -> None:
    from asl_recognition.azure.gateway import ChildRun
    from asl_recognition.errors import TrainingError
    from asl_recognition.trainers._automl_azure import run_automl

    gw = make_gateway(best=ChildRun("r", files=["outputs/model.pkl"]))
    with pytest.raises(TrainingError, match="outputs/model.onnx"):
        run_automl(gw, azure_settings, train=synthetic_dataset(3), validation=synthetic_dataset(2, seed=1))
