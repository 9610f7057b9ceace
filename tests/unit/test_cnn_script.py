"""The training script as a plain script: module and file-path forms, metrics hook, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asl_recognition.models import load_model
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC

SCRIPT = Path(__file__).resolve().parents[2] / "asl_recognition" / "trainers" / "cnn" / "train.py"


@pytest.mark.keras
@pytest.mark.slow
def test_script_runs_as_a_file_path_and_reports_every_epoch(tmp_path: Path) -> None:
    train = synthetic_dataset(4, labels=[0, 1, 2], seed=0)
    val = synthetic_dataset(2, labels=[0, 1, 2], seed=1)
    data = _data.save_npz(tmp_path / "train.npz", train.images, train.labels)
    vdata = _data.save_npz(tmp_path / "val.npz", val.images, val.labels)
    metrics = tmp_path / "metrics.jsonl"
    out = tmp_path / "outputs" / "model"
    # as in an Azure ML job: MLflow's store and the job's run come through the environment
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store)
    run_id = client.create_run(client.create_experiment("job")).info.run_id
    env = dict(os.environ, MLFLOW_TRACKING_URI=store, MLFLOW_RUN_ID=run_id)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(data), "--validation", str(vdata),
         "--output_dir", str(out), "--metrics_file", str(metrics), "--arch", "seed",
         "--epochs", "2", "--hidden", "16", "--augment", "false", "--threads", "1",
         "--data_fingerprint", "abc"],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    history = client.get_metric_history(run_id, PRIMARY_METRIC)
    assert [m.step for m in history] == [0, 1, 2]  # every epoch, then the final value
    assert all(0.0 <= m.value <= 1.0 for m in history)
    events = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "epoch", "epoch", "done"]
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    assert all(0.0 <= e[PRIMARY_METRIC] <= 1.0 for e in events if e["event"] == "epoch")
    model = load_model(out)
    assert model.metadata.hyperparameters["arch"] == "seed"
    assert model.metadata.data_fingerprint == "abc"
    assert set(model.predict(val.images).tolist()) <= {0, 1, 2}


def test_script_reports_bad_data_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an npz")
    for data in (bad, tmp_path / "missing_dir"):
        proc = subprocess.run(
            [sys.executable, "-m", "asl_recognition.trainers.cnn.train", "--data", str(data),
             "--output_dir", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 2
        assert "DatasetError" in proc.stderr and str(data) in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_script_rejects_bad_hyperparameters(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asl_recognition.trainers.cnn.train", "--data", str(tmp_path),
         "--dropout", "2"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2 and "'dropout' must be in [0, 1]" in proc.stderr
