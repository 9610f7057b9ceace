"""A sweep across machines, run the way two machines would: two worker processes on one study in
a real PostgreSQL server (a throwaway cluster on 127.0.0.1 started here), logging their trials
to one MLflow parent run in the same server. The trial limit and the pruning hold across workers.

Skipped outside CI when no PostgreSQL server can be started (Debian: ``apt-get install
postgresql``); with ``CI=true`` that is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg")

MAX_TOTAL_RUNS = 5  # one reference trial added by the test, four trained by the workers
EPOCHS = 3


def _pg_bin() -> Path | None:
    """The server binaries: Debian's newest /usr/lib/postgresql/<version>/bin, else initdb on PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required in CI (apt-get install postgresql): {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[str, Callable[[str], str]]]:
    """A throwaway PostgreSQL cluster on 127.0.0.1: ``(host:port, url_of(database))``.

    initdb refuses to run as root, so as root (CI) the cluster belongs to ``postgres``.
    """
    bin_dir = _pg_bin()
    if bin_dir is None:
        _unavailable("initdb not found")
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="asl-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = root / "data"
    started = False
    try:
        try:
            subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                            "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120)  # fmt: skip
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
                            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off",
                            "-w", "-t", "60", "start"], check=True, capture_output=True, timeout=120)  # fmt: skip
            started = True
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            log = root / "server.log"
            _unavailable(f"{exc} {detail.decode(errors='replace')[-500:]} "
                         f"{log.read_text(errors='replace')[-500:] if log.exists() else ''}")  # fmt: skip
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE mlflow")  # MLflow's tables beside Optuna's, not among them
        yield f"127.0.0.1:{port}", lambda db: f"postgresql+psycopg://postgres@127.0.0.1:{port}/{db}"
    finally:
        if started:
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


SWEEP_YAML = f"""
parameter_space:
  --hidden: choice(8, 16)
  --learning_rate: choice(0.001, 0.003)
policy:
  type: median
  evaluation_interval: 1
  delay_evaluation: 0
max_total_runs: {MAX_TOTAL_RUNS}
study_name: two-machines
"""


@pytest.mark.slow
@pytest.mark.keras
def test_two_workers_share_a_postgres_study_with_its_limit_and_pruning(
    postgres: tuple[str, Callable[[str], str]], tmp_path: Path
) -> None:
    from asl_recognition.tracking import TrackedRun

    _, url_of = postgres
    storage = url_of("postgres")
    train = synthetic_dataset(6, labels=(0, 1, 2), seed=0)
    validation = synthetic_dataset(6, labels=(0, 1, 2), seed=1)
    shuffled = np.random.default_rng(0).permutation(validation.labels)  # unlearnable: accuracy < 1
    train_file = _data.save_npz(tmp_path / "train.npz", train.images, train.labels)
    val_file = _data.save_npz(tmp_path / "validation.npz", validation.images, shuffled)
    (tmp_path / "sweep.yaml").write_text(SWEEP_YAML)

    # a finished reference trial with accuracy 1.0 at every epoch, from a third process (this one):
    # the workers' median pruner must read it from the server and prune every trial after epoch 1
    study = optuna.create_study(storage=storage, study_name="two-machines", direction="maximize")
    study.add_trial(optuna.trial.create_trial(
        value=1.0, intermediate_values={e: 1.0 for e in range(1, EPOCHS + 1)},
        user_attrs={"model_dir": str(tmp_path / "reference")}))  # fmt: skip

    tracking_uri = url_of("mlflow")
    parent = TrackedRun.create(tracking_uri, experiment="sweeps", name="two machines",
                               artifact_location=(tmp_path / "mlartifacts").as_uri())  # fmt: skip
    workers = []
    for name in ("machine-a", "machine-b"):
        cmd = [sys.executable, "-m", "asl_recognition.trainers.cnn.sweep", "--sweep", str(tmp_path / "sweep.yaml"),
               "--data", str(train_file), "--validation", str(val_file), "--workdir", str(tmp_path / name),
               "--storage", storage, "--in_process", "--tracking_uri", tracking_uri, "--parent_run_id", parent.run_id,
               *(f"--set={kv}" for kv in ("arch=seed", f"epochs={EPOCHS}", "batch_size=16", "augment=false",
                                          "threads=1"))]  # fmt: skip
        workers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    logs = [w.communicate(timeout=300)[0].decode(errors="replace") for w in workers]
    for w, log in zip(workers, logs, strict=True):
        assert w.returncode == 0, log[-3000:]
    parent.finish()

    trials = optuna.load_study(storage=storage, study_name="two-machines").get_trials()
    ran = [t for t in trials if not t.user_attrs.get("over_limit")]
    assert len(ran) == MAX_TOTAL_RUNS, [(t.number, t.state.name) for t in trials]  # the limit, across workers
    assert len({t.number for t in trials}) == len(trials)
    by_workers = [t for t in ran if t.number > 0]
    assert [t.state.name for t in by_workers] == ["PRUNED"] * (MAX_TOTAL_RUNS - 1)
    assert all(sorted(t.intermediate_values) == [1] for t in by_workers)  # pruned after epoch 1
    machines = ("machine-a", "machine-b")
    per_machine = {name: sum(name in t.user_attrs["model_dir"] for t in by_workers) for name in machines}
    assert sum(per_machine.values()) == MAX_TOTAL_RUNS - 1, per_machine

    # every trial a run nested under the one parent, whichever worker ran it
    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri)
    runs = client.search_runs([parent.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.run_id}'")
    assert sorted(r.data.tags["optuna.trial"] for r in runs) == [str(t.number) for t in by_workers]
    for run in runs:
        assert run.info.status == "KILLED" and run.data.tags["state"] == "pruned"
        assert [m.step for m in client.get_metric_history(run.info.run_id, PRIMARY_METRIC)] == [1]
        assert "postgres@127.0.0.1" in run.data.tags["optuna.storage"]
