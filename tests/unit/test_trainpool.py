"""The main job's trainers in worker processes: same models as in-process, dependency order,
errors that reach the caller, and the in-process fallback."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition._trainpool import TrainEntry, train_entries
from asl_recognition._workers import resolve_workers
from asl_recognition.data.dataset import Dataset
from asl_recognition.errors import AslRecognitionError
from asl_recognition.models import load_model
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.base import TrainResult, get_trainer


@pytest.fixture(scope="module")
def data() -> dict[str, Dataset]:
    train = synthetic_dataset(10, seed=0)
    validation = synthetic_dataset(3, seed=1)
    return {"fit": train, "validation": validation, "train": train}


class _PreparingTrainer:
    """Builds on another entry's model and can do part of its work before (a Preparer): notes
    in ``log`` which process prepared and whether ``fit`` found the preparation done."""

    def __init__(self, log: Path, fail: bool = False) -> None:
        self.log, self.fail = log, fail  # fail: the preparation raises
        self.job_models: tuple[str, ...] = ("lr",)
        self.inner = get_trainer("sklearn", max_iter=40)

    def use_job_models(self, models: Any) -> None:
        assert set(models) == {"lr"}

    def prepare(self, train: Dataset) -> None:
        import os

        if self.fail:
            raise RuntimeError("no disk space for the cache")
        with self.log.open("a") as f:
            f.write(f"prepared {os.getpid()} {len(train)}\n")

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        with self.log.open("a") as f:
            f.write("fit\n")
        result: TrainResult = self.inner.fit(train, validation=validation, seed=seed)
        return result


def _entries(log: Path) -> list[TrainEntry]:
    return [
        TrainEntry("lr", "sklearn", get_trainer("sklearn", max_iter=60)),
        TrainEntry("svm", "sklearn", get_trainer("sklearn", estimator="svm", pca_components=20), refit=True),
        TrainEntry("both", "product", get_trainer("product", members=["lr", "svm"]), uses=("lr", "svm")),
        TrainEntry("mine", "custom", _PreparingTrainer(log), uses=("lr",)),
    ]


def test_workers_train_the_same_models_as_one_process(data: dict[str, Dataset], tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    import os

    caplog.set_level(logging.INFO, logger="asl_recognition")
    log = tmp_path / "mine.txt"
    parallel = train_entries(_entries(log), **data, seed=0, models_dir=tmp_path / "p", workers=2)
    # a Preparer waiting for another entry prepared in a worker process, on the fit rows, before its fit
    prepared, fitted = log.read_text().splitlines()
    assert prepared.split()[0] == "prepared" and fitted == "fit"
    assert int(prepared.split()[1]) != os.getpid() and int(prepared.split()[2]) == len(data["fit"])
    log.unlink()
    serial = train_entries(_entries(log), **data, seed=0, models_dir=tmp_path / "s", workers=1)
    assert log.read_text().splitlines() == ["fit"]  # without a pool nothing overlaps: fit does it all
    assert list(parallel) == ["lr", "svm", "both", "mine"]
    probe = data["validation"].images
    for key, (result, path) in parallel.items():
        assert isinstance(result, TrainResult)
        assert path == tmp_path / "p" / key and (path / "asl_model.json").is_file()
        assert result.metrics == serial[key][0].metrics
        assert "fit_s" in result.timings
        np.testing.assert_array_equal(result.model.predict(probe), serial[key][0].model.predict(probe))
        # the parent's model is the one the worker saved
        np.testing.assert_array_equal(result.model.predict(probe), load_model(path).predict(probe))
    # the product was built from the members' saved models, after them
    assert parallel["both"][0].model.metadata.backend == "product"
    worker_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[lr] ")]
    assert any("validation accuracy" in line for line in worker_lines), worker_lines


def test_an_error_in_a_worker_reaches_the_caller(data: dict[str, Dataset], tmp_path: Path) -> None:
    one_letter = Dataset.from_arrays(data["fit"].images[:5], np.zeros(5, dtype=np.int64))
    entries = [
        TrainEntry("lr", "sklearn", get_trainer("sklearn", max_iter=60)),
        TrainEntry("slow", "sklearn", get_trainer("sklearn", estimator="svm")),
    ]
    start = time.perf_counter()
    with pytest.raises(AslRecognitionError, match="at least two letters"):
        train_entries(entries, fit=one_letter, validation=data["validation"], train=one_letter, seed=0,
                      models_dir=tmp_path, workers=2)  # fmt: skip
    assert time.perf_counter() - start < 120


class _LocalTrainer:
    """A trainer class a worker process cannot import (it lives in a test function's scope)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.unpicklable = lambda: None

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        result: TrainResult = self.inner.fit(train, validation=validation, seed=seed)
        return result


def test_unpicklable_trainers_train_in_this_process(data: dict[str, Dataset], tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="asl_recognition")
    entries = [TrainEntry("mine", "custom", _LocalTrainer(get_trainer("sklearn", max_iter=60))),
               TrainEntry("lr", "sklearn", get_trainer("sklearn", max_iter=60))]  # fmt: skip
    done = train_entries(entries, **data, seed=0, models_dir=tmp_path, workers=2)
    assert set(done) == {"mine", "lr"}
    assert any("cannot be sent to a worker process" in r.getMessage() and "mine" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_a_failed_preparation_only_warns_and_a_dead_worker_stops_the_job(caplog: pytest.LogCaptureFixture) -> None:
    import concurrent.futures as cf

    from asl_recognition._trainpool import _prepared

    entry = TrainEntry("mine", "custom", _PreparingTrainer(Path("unused"), fail=True), uses=("lr",))
    failed: cf.Future[None] = cf.Future()
    failed.set_exception(RuntimeError("no disk space for the cache"))
    _prepared(failed, entry)
    assert "preparing mine (custom) failed, its fit will do that work: no disk space for the cache" in caplog.text
    dead: cf.Future[None] = cf.Future()
    dead.set_exception(cf.process.BrokenProcessPool("gone"))
    with pytest.raises(AslRecognitionError, match="'mine' .*worker process died"):
        _prepared(dead, entry)


def test_auto_workers_is_bounded_by_cores_and_tasks() -> None:
    assert resolve_workers(-1, 1) == 1
    assert 1 <= resolve_workers(-1, 10) <= 4
    assert resolve_workers(None, 10) == resolve_workers(1, 10) == 1


def test_job_rejects_a_bad_workers_value(tmp_path: Path) -> None:
    from asl_recognition.errors import ConfigurationError
    from asl_recognition.job import run_job

    with pytest.raises(ConfigurationError, match=r"'workers' must be None, -1 or an integer >= 1, got 0"):
        run_job({"trainer": {"lr": {"name": "sklearn", "params": {}}}, "workers": 0}, output_dir=tmp_path)


def test_the_job_config_trains_in_worker_processes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``workers: -1`` (conf/config.yaml) reaches the pool: one worker per core, at most one per trainer."""
    from asl_recognition.job import JobData, run_job

    caplog.set_level(logging.INFO, logger="asl_recognition")
    train, test = synthetic_dataset(6, seed=0), synthetic_dataset(2, seed=3)
    cfg = {"workers": -1, "report": False,
           "trainer": {"a": {"name": "sklearn", "params": {"max_iter": 40}},
                       "b": {"name": "sklearn", "params": {"max_iter": 60}}},
           # the comparison in this process: its worker pool is tests/unit/test_compare_workers.py's
           "compare": {"bootstrap_samples": 0, "corruptions": {}, "latency_repeats": 1, "workers": 1}}  # fmt: skip
    run_job(cfg, output_dir=tmp_path, data=JobData(train, train, synthetic_dataset(2, seed=1), test))
    expected = resolve_workers(-1, 2)
    pooled = [r.getMessage() for r in caplog.records if "worker processes" in r.getMessage()]
    if expected > 1:
        assert pooled == [f"training 2 trainers in {expected} worker processes"], pooled
    else:
        assert pooled == []


def _thread_settings() -> tuple[str | None, int]:
    import os

    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return os.environ.get("OPENBLAS_NUM_THREADS"), max(blas, default=1)


def test_workers_cap_their_blas_threads_at_their_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from asl_recognition._workers import THREAD_VARIABLES, process_pool, worker_threads

    for variable in THREAD_VARIABLES:  # the test runner itself caps them; a user's shell may not
        monkeypatch.delenv(variable, raising=False)
    with process_pool(2) as pool:
        variable, blas = pool.submit(_thread_settings).result(timeout=120)
    assert variable == str(worker_threads(2))
    assert blas <= worker_threads(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")  # what the user set is kept
    with process_pool(2) as pool:
        assert pool.submit(_thread_settings).result(timeout=120)[0] == "7"
