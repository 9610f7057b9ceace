"""Local HyperDrive sweeps: in-process trials, the subprocess runner, a shared two-worker study."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn._runner import run_subprocess
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC

pytestmark = pytest.mark.keras

LABELS = [0, 1, 2, 3]
TINY = {"arch": "seed", "augment": False, "threads": 1, "hidden": 16}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("sweepdata")
    train = synthetic_dataset(5, labels=LABELS, seed=0)
    val = synthetic_dataset(2, labels=LABELS, seed=1)
    return (_data.save_npz(d / "train.npz", train.images, train.labels),
            _data.save_npz(d / "val.npz", val.images, val.labels))


def test_backend_sweep_returns_the_best_trial_and_the_trial_table(tmp_path: Path) -> None:
    from asl_recognition import get_trainer

    sweep = {"parameter_space": {"--hidden": "choice(8, 16)", "--learning_rate": "loguniform(-7, -5)"},
             "policy": {"type": "median", "evaluation_interval": 1, "delay_evaluation": 0},
             "max_total_runs": 3, "max_concurrent_runs": 1, "sampler_seed": 0}
    trainer = get_trainer("cnn", sweep=sweep, in_process=True, workdir=str(tmp_path), epochs=2,
                          **{k: v for k, v in TINY.items() if k != "hidden"})
    train = synthetic_dataset(5, labels=LABELS, seed=0)
    val = synthetic_dataset(2, labels=LABELS, seed=1)
    result = trainer.fit(train, validation=val, seed=0)
    assert len(result.trials) == 3
    assert {t.state for t in result.trials} <= {"complete", "pruned"}
    complete = [t for t in result.trials if t.state == "complete"]
    best = max(complete, key=lambda t: t.value or 0.0)
    assert result.metrics["validation_accuracy"] == pytest.approx(best.value)
    assert result.hyperparameters["hidden"] == best.params["hidden"]
    assert all(t.duration_s > 0 and t.intermediate for t in result.trials)
    assert result.model.source_dir == (tmp_path / f"trial_{best.number:04d}" / "model").resolve()
    assert (tmp_path / "sweep.db").exists()  # default storage: SQLite in the work directory


@pytest.mark.slow
def test_subprocess_runner_reports_epochs_and_prunes(files: tuple[Path, Path], tmp_path: Path) -> None:
    seen: list[int] = []

    def prune_after_first(epoch: int, logs: dict[str, float]) -> bool:
        seen.append(epoch)
        assert PRIMARY_METRIC in logs
        return True

    run = run_subprocess(TrainConfig(epochs=50, **TINY), files[0], files[1],  # type: ignore[arg-type]
                         output_dir=tmp_path / "m", on_epoch=prune_after_first)
    assert run.pruned and run.model_dir is None and seen == [1]
    assert not (tmp_path / "m").exists()  # terminated before it could save


@pytest.mark.slow
def test_two_workers_share_one_sqlite_study(files: tuple[Path, Path], tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "parameter_space:\n  --hidden: choice(8, 16, 32)\n  --learning_rate: uniform(0.001, 0.01)\n"
        "policy: null\nmax_total_runs: 4\nmax_concurrent_runs: 1\nstudy_name: shared\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "asl_recognition.trainers.cnn.sweep", "--sweep", str(config),
             "--data", str(files[0]), "--validation", str(files[1]), "--storage", storage,
             "--workdir", str(tmp_path / f"worker{i}"), "--in_process",
             "--set", "arch=seed", "--set", "augment=false", "--set", "epochs=1", "--set", "threads=1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]
    logs = [w.communicate(timeout=400)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.get_trials()
    assert 4 <= len(trials) <= 5  # MaxTrialsCallback: a trial started concurrently may finish
    owners = {Path(t.user_attrs["model_dir"]).parents[1].name for t in trials}
    assert owners == {"worker0", "worker1"}, "both workers must have run trials of the one study"
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
