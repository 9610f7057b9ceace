"""The main job end to end: real data (acceptance numbers) and the CLI on synthetic CSVs."""

from __future__ import annotations

import json
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
from asl_recognition.testing import synthetic_images


@pytest.fixture(scope="module")
def job(real_train, real_split, real_test, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
        compose_config: Callable[[list[str]], dict[str, Any]]) -> JobResult:
    """The default sklearn trainers (logistic regression and SVM) through the real main job."""
    # robustness and photos are exercised by tests/integration/test_compare_real.py; off here for time
    cfg = compose_config(["trainer=[sklearn,svm]", "compare.bootstrap_samples=200", "compare.photos_dir=null",
                          "compare.robustness=false"])  # fmt: skip
    fit_part, validation = real_split
    data = JobData(real_train, fit_part, validation, real_test)
    return run_job(cfg, output_dir=tmp_path_factory.mktemp("job"), data=data)


@pytest.mark.realdata
@pytest.mark.slow
def test_sklearn_acceptance_numbers(job: JobResult) -> None:
    lr, svm = job.comparison.model("sklearn"), job.comparison.model("svm")
    assert job.comparison.settings["corruptions"] == {} and not lr.robustness  # off, as the fixture says
    assert lr.accuracy >= 0.69, f"logistic regression test accuracy {lr.accuracy:.4f} < 0.69"
    assert svm.accuracy >= 0.87, f"SVM test accuracy {svm.accuracy:.4f} < 0.87"
    for ev in (lr, svm):
        assert ev.validation_accuracy is not None
        gap = abs(ev.validation_accuracy - ev.accuracy)
        assert gap <= 0.05, f"{ev.name}: validation-test gap {gap:.3f} > 0.05 (leaky split?)"


@pytest.mark.realdata
@pytest.mark.slow
def test_job_saves_models_best_and_report(job: JobResult, real_test) -> None:  # type: ignore[no-untyped-def]
    assert set(job.model_dirs) == {"sklearn", "svm"}
    assert job.comparison.winner == "svm"
    best = load_model(job.best_dir)
    np.testing.assert_array_equal(
        best.predict(real_test.images[:200]), load_model(job.model_dirs["svm"]).predict(real_test.images[:200])
    )
    assert job.report_dir is not None
    names = {p.name for p in job.report_dir.iterdir()}
    assert {"report.md", "result.json", "report.html"} <= names, names
    report = json.loads((job.report_dir / "result.json").read_text())
    assert report["winner"] == "svm"
    md = job.comparison.to_markdown()
    assert "gap" in md.lower()


def _write_csv(path: Path, labels: np.ndarray, seed: int) -> None:
    images = synthetic_images(labels, seed=seed).reshape(len(labels), -1)
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    rows = [f"{lab}," + ",".join(map(str, row)) for lab, row in zip(labels, images, strict=True)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


@pytest.mark.slow
def test_cli_main_job_on_synthetic_csvs(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from asl_recognition.data.letters import VALID_LABELS

    photos = os.environ.get("ASL_PHOTOS_DIR")  # the default of compare.photos_dir
    if photos:  # their hands come from the session cache
        request.getfixturevalue("dev_photo_cache")

    data = tmp_path / "data"
    data.mkdir()
    _write_csv(data / "sign_mnist_train.csv", np.repeat(np.array(VALID_LABELS), 12), seed=0)
    _write_csv(data / "sign_mnist_test.csv", np.repeat(np.array(VALID_LABELS), 4), seed=1)
    out = tmp_path / "out"
    env = dict(os.environ, MPLBACKEND="Agg")  # the session cache (tests/conftest.py)
    cmd = [
        sys.executable,
        "-m",
        "asl_recognition",
        "trainer=[sklearn]",
        "trainer.sklearn.params.max_iter=50",
        f"data.data_dir={data}",
        "data.allow_modified=true",
        "compare.bootstrap_samples=50",
        f"hydra.run.dir={out}",
        "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "best model (sklearn)" in proc.stdout
    assert (out / "best" / "asl_model.json").is_file()
    assert (out / "models" / "sklearn" / "asl_model.json").is_file()
    assert (out / "report" / "report.html").is_file()
    if photos:
        from asl_recognition.data.photos import load_photo_dataset

        (model,) = json.loads((out / "report" / "result.json").read_text())["models"]
        assert model["photos"]["n"] == len(load_photo_dataset(photos))


def test_cli_reports_bad_config_without_traceback(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "asl_recognition",
        "trainer=[sklearn]",
        "trainer.sklearn.params.C=-1",
        f"hydra.run.dir={tmp_path}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "error: 'C' must be > 0, got -1" in proc.stderr
    assert "Traceback" not in proc.stderr
