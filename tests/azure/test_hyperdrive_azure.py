"""Azure HyperDrive offline: the real ScriptRunConfig/HyperDriveConfig/Environment, and the
training script run for real with exactly the arguments HyperDrive would pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asl_recognition.testing import synthetic_dataset

pytestmark = pytest.mark.azure

TINY_SWEEP = {
    "parameter_space": {"--hidden": "choice(16, 32)", "--dropout": "uniform(0.1, 0.5)"},
    "policy": {"type": "median", "evaluation_interval": 1, "delay_evaluation": 2},
    "max_total_runs": 4,
    "max_concurrent_runs": 2,
}


def test_hyperdrive_config_from_the_shipped_seed_sweep(tmp_path: Path) -> None:
    from azureml.core import Environment, ScriptRunConfig
    from azureml.data.dataset_factory import FileDatasetFactory
    from azureml.train.hyperdrive import HyperDriveConfig

    from asl_recognition.trainers._hyperdrive_azure import (
        fixed_arguments,
        hyperdrive_config,
        prepare_source_directory,
        script_run_config,
    )
    from asl_recognition.trainers.cnn.config import TrainConfig
    from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
    from asl_recognition.trainers.cnn.sweep import SweepSpec, load_sweep_config

    spec = SweepSpec.from_config(load_sweep_config("seed"))
    files = FileDatasetFactory.from_files(path="https://example.invalid/d/", validate=False)
    src = prepare_source_directory(tmp_path / "src")
    run_config = script_run_config(
        source_directory=src,
        compute_target="gpu-cluster",
        environment=Environment("e"),
        data=files.as_named_input("train").as_download(),
        validation=None,
        arguments=fixed_arguments(TrainConfig(arch="seed"), spec.space),
    )
    assert isinstance(run_config, ScriptRunConfig) and (src / "train.py").is_file()
    hd = hyperdrive_config(spec, run_config)
    assert isinstance(hd, HyperDriveConfig)
    assert hd._primary_metric_config == {"name": PRIMARY_METRIC, "goal": "maximize"}
    assert (hd._max_total_runs, hd._max_concurrent_runs) == (50, 10)
    assert hd._policy_config["name"] == "MedianStopping"
    space = hd._generator_config["parameter_space"]
    assert space["--hidden"] == ["choice", [[50, 100, 200, 300]]]
    assert space["--dropout"] == ["choice", [[0.5, 0.8, 1]]]
    args = run_config.arguments
    assert args[0] == "--data" and args[1].mode == "download" and "--hidden" not in args


@pytest.mark.slow
@pytest.mark.keras
def test_fit_on_azure_runs_the_real_script_with_hyperdrives_arguments(
    tmp_path: Path, make_gateway: Any, azure_settings: Any
) -> None:
    pytest.importorskip("keras")
    from azureml.core import Environment

    from asl_recognition.azure.datasets import write_csv
    from asl_recognition.azure.gateway import ChildRun
    from asl_recognition.trainers.base import get_trainer

    train, validation = synthetic_dataset(6, seed=0), synthetic_dataset(3, seed=1)
    wheel = tmp_path / "asl_recognition-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")  # uploaded by the double, never installed

    # 1. build and submit through the boundary; the double records the real config
    recorder = make_gateway(best=ChildRun("hd_0"))
    trainer = get_trainer(
        "hyperdrive",
        compute="azure",
        azure_sdk="v1",
        sweep=TINY_SWEEP,
        gateway=recorder,
        wheel=str(wheel),
        azure={"show_output": False},
        arch="seed",
        epochs=1,
        batch_size=32,
        augment=False,
    )
    with pytest.raises(KeyError):  # no model files to replay yet
        trainer.fit(train, validation=validation, seed=0)
    (submitted,) = recorder.called("submit")
    hd = submitted["config"]
    env = hd._run_config.run_config.environment
    assert isinstance(env, Environment)
    pip = list(env.python.conda_dependencies.pip_packages)
    assert any(p.startswith("keras==") for p in pip) and pip[-1].endswith(wheel.name)

    # 2. run the training script exactly as a child run would: fixed args + one sample
    data_dir, val_dir = tmp_path / "mnt" / "train", tmp_path / "mnt" / "validation"
    from asl_recognition.azure.datasets import CSV_NAME

    mounted = {
        "train": str(write_csv(train, data_dir / CSV_NAME)),
        "validation": str(write_csv(validation, val_dir / CSV_NAME)),
    }
    argv = [
        mounted[a.name] if hasattr(a, "as_download") or hasattr(a, "mode") else str(a) for a in hd._run_config.arguments
    ]
    space = hd._generator_config["parameter_space"]
    sample = {"--hidden": space["--hidden"][1][0][0], "--dropout": space["--dropout"][1][0]}
    argv += [x for k, v in sample.items() for x in (k, str(v))]
    assert "--hidden" in argv and "--epochs" in argv
    cwd = tmp_path / "run"
    cwd.mkdir()
    script = Path(hd._run_config.source_directory) / "train.py"
    assert not script.exists()  # the source folder was temporary; use the same file
    from asl_recognition.trainers.cnn import train as train_module

    proc = subprocess.run(
        [sys.executable, train_module.__file__, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    model_dir = cwd / "outputs" / "model"
    assert (model_dir / "asl_model.json").is_file()

    # 3. replay that output as the best run: download, register, wrap
    best = ChildRun(
        "hd_0_1", metrics={"val_accuracy": [0.4, 0.6]}, arguments=argv, files=["outputs/model/asl_model.json"]
    )
    gw = make_gateway(best=best, files={"outputs/model": model_dir}, children=[best])
    trainer.gateway = gw
    result = trainer.fit(train, validation=validation, seed=0)
    (registered,) = gw.called("register_model")
    assert registered["name"] == "asl-cnn" and registered["tags"]["run_id"] == "hd_0_1"
    assert result.backend == "hyperdrive"
    assert 0.0 <= result.metrics["validation_accuracy"] <= 1.0
    assert result.trials[0].params["hidden"] == str(sample["--hidden"])
    assert result.trials[0].intermediate == {1: 0.4, 2: 0.6}
