"""Opt-in MLflow tracking of the main job and the model registry, against real MLflow stores:
a local SQLite store in the job's output directory, and a real ``mlflow server`` on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition import load_model
from asl_recognition.job import JobData, JobResult, run_job
from asl_recognition.testing import synthetic_dataset
from asl_recognition.tracking import load_registered_model, register_model
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC

mlflow = pytest.importorskip("mlflow")

LABELS = (0, 1, 2)


def _data() -> JobData:
    train = synthetic_dataset(28, labels=LABELS, seed=0)
    # the svm config keeps 60 PCA components and refits on train: at least 60 images in each
    fit, validation = synthetic_dataset(24, labels=LABELS, seed=1), synthetic_dataset(4, labels=LABELS, seed=2)
    return JobData(train, fit, validation, synthetic_dataset(4, labels=LABELS, seed=3))


QUICK = ["trainer=[sklearn,svm]", "trainer.sklearn.params.max_iter=50", "compare.bootstrap_samples=50",
         "compare.corruptions={}", "compare.photos_dir=null", "compare.latency_repeats=1"]  # fmt: skip
SWEEP = {"parameter_space": {"--hidden": "choice(8, 16)"}, "policy": None, "max_total_runs": 2,
         "study_name": "tracked", "sampler_seed": 0}  # fmt: skip


def _runs(client: Any, experiment: str) -> list[Any]:
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    return list(client.search_runs([exp.experiment_id], max_results=100))


def _children(runs: list[Any], parent: Any) -> dict[str, Any]:
    return {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}


def _artifacts(client: Any, run_id: str, path: str) -> set[str]:
    return {Path(f.path).name for f in client.list_artifacts(run_id, path)}


def _check_job_runs(client: Any, job: JobResult, trainers: set[str]) -> tuple[Any, dict[str, Any], list[Any]]:
    runs = _runs(client, "asl_recognition")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [p.info.run_id for p in parents] == [job.run_id]
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["winner"] == job.comparison.winner
    assert parent.data.params["seed"] == "0"
    children = _children(runs, parent)
    assert set(children) == trainers
    for key, child in children.items():
        assert child.info.status == "FINISHED"
        metrics = child.data.metrics
        for name in ("validation_accuracy", "validation_accuracy_ci_low", "validation_accuracy_ci_high",
                     "test_accuracy", "test_accuracy_ci_low", "test_accuracy_ci_high"):  # fmt: skip
            assert name in metrics, f"{key}: no metric {name}; has {sorted(metrics)}"
        assert metrics["test_accuracy"] == pytest.approx(job.comparison.model(key).accuracy)
        assert metrics["validation_accuracy_ci_low"] <= metrics["validation_accuracy"] <= metrics[
            "validation_accuracy_ci_high"]
        assert child.data.params["trainer"] in ("sklearn", "cnn")
        assert "MLmodel" in _artifacts(client, child.info.run_id, "model")
    pair = job.comparison.pairwise[0]
    assert parent.data.metrics[f"mcnemar/{pair.model_a}_vs_{pair.model_b}/p_value"] == pytest.approx(pair.p_value)
    assert {"report.md", "result.json"} <= _artifacts(client, parent.info.run_id, "report")
    assert "MLmodel" in _artifacts(client, parent.info.run_id, "best_model")
    return parent, children, runs


@pytest.mark.keras
@pytest.mark.slow
def test_main_job_tracks_parent_trainer_and_trial_runs_in_a_local_store(
    compose_config: Callable[[list[str]], dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tracking=mlflow: a parent run, a child run per trainer (per-epoch metrics for a CNN), a run
    per sweep trial under the sweeping CNN's run; then the best model goes through the registry."""
    cfg = compose_config([*QUICK, "tracking=mlflow", "workers=1"])
    quick_cnn = {"in_process": True, "arch": "seed", "epochs": 2, "batch_size": 16, "augment": False, "threads": 1}
    cfg["trainer"]["cnn"] = {"name": "cnn", "params": {"sweep": SWEEP, **quick_cnn}}
    cfg["trainer"]["cnn_single"] = {"name": "cnn", "params": quick_cnn}
    out = tmp_path / "job"
    job = run_job(cfg, output_dir=out, data=_data())
    uri = f"sqlite:///{out.resolve() / 'mlflow.db'}"
    assert job.tracking_uri == uri
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    _, children, runs = _check_job_runs(client, job, {"sklearn", "svm", "cnn", "cnn_single"})
    # one training: the Keras logs of every epoch on the trainer's own run
    single = client.get_metric_history(children["cnn_single"].info.run_id, PRIMARY_METRIC)
    assert sorted(m.step for m in single) == [1, 2]

    trials = _children(runs, children["cnn"])
    assert set(trials) == {"trial 0", "trial 1"}
    for trial in trials.values():
        assert trial.data.tags["state"] == "complete" and trial.data.params["hidden"] in ("8", "16")
        history = client.get_metric_history(trial.info.run_id, PRIMARY_METRIC)
        assert sorted(m.step for m in history) == [1, 2]  # one value per epoch
    assert children["cnn"].data.metrics["trials"] == 2

    # the registry of the same store: register the winner, load it back through models:/name/1
    registered = register_model(job.best_dir, "asl-best", tracking_uri=uri)
    assert registered.uri == "models:/asl-best/1"
    images = job.results[job.comparison.winner].model.predict(_data().test.images)
    again = load_registered_model(registered.uri, tracking_uri=uri, dst_path=tmp_path / "download")
    np.testing.assert_array_equal(again.predict(_data().test.images), images)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # what a user of mlflow.pyfunc sets
    pyfunc = mlflow.pyfunc.load_model(registered.uri)
    np.testing.assert_array_equal(pyfunc.predict(_data().test.images), images)


_OFF = """
import sys
from asl_recognition.job import JobData, run_job
from asl_recognition.testing import synthetic_dataset
labels = (0, 1, 2)
data = JobData(*(synthetic_dataset(4, labels=labels, seed=s) for s in range(4)))
run_job({"trainer": {"lr": {"name": "sklearn", "params": {"max_iter": 20}}}, "report": False,
         "compare": {"bootstrap_samples": 0, "corruptions": {}, "photos_dir": None}},
        output_dir=sys.argv[1], data=data)
print("mlflow" in sys.modules)
"""


def test_tracking_is_off_by_default_and_mlflow_is_not_imported(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _OFF, str(tmp_path)], capture_output=True, text=True, timeout=300,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
    assert not (tmp_path / "mlflow.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "models"]


def test_a_bad_tracking_config_is_named() -> None:
    from asl_recognition.errors import ConfigurationError
    from asl_recognition.tracking import tracking_config

    with pytest.raises(ConfigurationError, match=r"tracking.backend must be one of none, mlflow, got 'mlfow'"):
        tracking_config("mlfow")
    with pytest.raises(ConfigurationError, match=r"unknown key\(s\) \['url'\]"):
        tracking_config({"backend": "mlflow", "url": "x"})


@pytest.fixture
def tracking_server(http_server: Callable[..., str], tmp_path: Path) -> str:
    """A real ``mlflow server`` on 127.0.0.1 with an SQLite backend, stopped at the end."""
    return http_server(lambda port: [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1",
    ], "/health", name="mlflow-server")  # fmt: skip


@pytest.mark.slow
def test_main_job_tracks_to_a_real_tracking_server(
    compose_config: Callable[[list[str]], dict[str, Any]], tracking_server: str, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The trainers train in two worker processes, each logging to its run on the server by id."""
    cfg = compose_config([*QUICK, "workers=2", "compare.workers=1", "tracking=mlflow",
                          f"tracking.uri={tracking_server}", "tracking.experiment=served"])  # fmt: skip
    caplog.set_level(logging.INFO, logger="asl_recognition._trainpool")
    job = run_job(cfg, output_dir=tmp_path / "job", data=_data())
    assert "training 2 trainers in 2 worker processes" in caplog.text  # the runs travelled with them
    assert not (tmp_path / "job" / "mlflow.db").exists()  # everything went to the server
    client = mlflow.tracking.MlflowClient(tracking_uri=tracking_server)
    runs = _runs(client, "served")
    parent = next(r for r in runs if r.info.run_id == job.run_id)
    children = _children(runs, parent)
    assert set(children) == {"sklearn", "svm"}
    for key, child in children.items():
        metrics = child.data.metrics
        assert metrics["test_accuracy"] == pytest.approx(job.comparison.model(key).accuracy)
        assert "validation_accuracy_ci_low" in metrics and child.info.status == "FINISHED"
    assert parent.data.tags["winner"] == job.comparison.winner
    assert "MLmodel" in _artifacts(client, parent.info.run_id, "best_model")
    registered = register_model(job.best_dir, "served-best", tracking_uri=tracking_server)
    again = load_registered_model(registered.uri, tracking_uri=tracking_server, dst_path=tmp_path / "dl")
    images = _data().test.images
    np.testing.assert_array_equal(again.predict(images), load_model(job.best_dir).predict(images))


def test_tracking_config_group_composes(compose_config: Callable[[list[str]], dict[str, Any]]) -> None:
    """``tracking=mlflow`` selects the group option; the default is ``none``."""
    cfg = compose_config([*QUICK, "tracking=mlflow"])
    assert cfg["tracking"]["backend"] == "mlflow" and cfg["tracking"]["uri"] is None
    json.dumps(cfg["tracking"])
    assert compose_config(QUICK)["tracking"]["backend"] == "none"


def test_a_failing_job_ends_its_runs_failed(compose_config: Callable[[list[str]], dict[str, Any]],
                                            tmp_path: Path) -> None:  # fmt: skip
    """The svm config keeps 60 PCA components: on 18 training images its fit raises."""
    cfg = compose_config([*QUICK, "tracking=mlflow", "workers=1"])
    tiny = synthetic_dataset(6, labels=LABELS, seed=0)
    with pytest.raises(ValueError, match="n_components=60"):
        run_job(cfg, output_dir=tmp_path, data=JobData(tiny, tiny, tiny, tiny))
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}")
    runs = {r.info.run_name: r.info.status for r in _runs(client, "asl_recognition")}
    assert runs == {f"job {tmp_path.resolve().name}": "FAILED", "sklearn": "FAILED", "svm": "FAILED"}
