"""Run one training (a "trial") in this process or as a subprocess of the training script.

Both runners call ``on_epoch(epoch, logs)`` after every epoch; when it returns True the run is
stopped (pruned). The subprocess runner reads the script's ``--metrics_file`` JSON lines while
the script runs and terminates the process to stop it, as HyperDrive cancels a child run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from asl_recognition.errors import TrainingError
from asl_recognition.models._keras_env import backend_env
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.train import EpochHook

__all__ = ["TrialRun", "run_in_process", "run_subprocess"]

logger = logging.getLogger(__name__)

_POLL_S = 0.25


@dataclasses.dataclass
class TrialRun:
    """Outcome of one run: where its model is (None if pruned before saving) and its metrics."""

    model_dir: Path | None
    metrics: dict[str, float]
    history: list[dict[str, float]]
    pruned: bool
    duration_s: float


def run_in_process(
    config: TrainConfig,
    train: _data.Arrays,
    validation: _data.Arrays | None,
    *,
    output_dir: Path,
    on_epoch: EpochHook | None = None,
    data_fingerprint: str | None = None,
) -> TrialRun:
    """Train in this process (Keras must be importable with ``config.backend`` here)."""
    from asl_recognition.models.keras import KerasModel
    from asl_recognition.trainers.cnn.train import build_metadata
    from asl_recognition.trainers.cnn.train import train as train_fn

    start = time.perf_counter()
    outcome = train_fn(config, train, validation, on_epoch=on_epoch)
    if outcome.stopped_early:
        return TrialRun(None, outcome.metrics, outcome.history, True, time.perf_counter() - start)
    meta = build_metadata(config, outcome, data_fingerprint=data_fingerprint)
    KerasModel(metadata=meta, network=outcome.network).save(output_dir)
    return TrialRun(output_dir, outcome.metrics, outcome.history, False, time.perf_counter() - start)


def _read_new(path: Path, offset: int) -> tuple[list[dict[str, object]], int]:
    if not path.exists():
        return [], offset
    with path.open("r", encoding="utf-8") as fh:
        fh.seek(offset)
        chunk = fh.read()
    complete = chunk[: chunk.rfind("\n") + 1]  # only whole lines; the rest comes next poll
    events = [json.loads(line) for line in complete.splitlines() if line.strip()]
    return events, offset + len(complete.encode("utf-8"))


def run_subprocess(
    config: TrainConfig,
    data: Path,
    validation: Path | None,
    *,
    output_dir: Path,
    on_epoch: EpochHook | None = None,
    data_fingerprint: str | None = None,
    validation_fraction: float = 0.0,
) -> TrialRun:
    """Run ``python -m asl_recognition.trainers.cnn.train`` on ``.npz``/CSV files.

    The script's log goes to ``<output_dir>.log``; a failing script raises
    :class:`TrainingError` quoting the end of that log.
    """
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    metrics_file = output_dir.with_name(output_dir.name + ".metrics.jsonl")
    log_file = output_dir.with_name(output_dir.name + ".log")
    metrics_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "asl_recognition.trainers.cnn.train", "--data", str(data),
           "--output_dir", str(output_dir), "--metrics_file", str(metrics_file),
           "--validation_fraction", str(validation_fraction), "--log_level", "WARNING",
           *config.to_args()]
    if validation is not None:
        cmd += ["--validation", str(validation)]
    if data_fingerprint:
        cmd += ["--data_fingerprint", data_fingerprint]
    env = {**os.environ, **backend_env(config.backend, threads=config.threads)}
    start = time.perf_counter()
    history: list[dict[str, float]] = []
    metrics: dict[str, float] = {}
    pruned = False
    offset = 0
    with log_file.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while True:
                finished = proc.poll() is not None
                events, offset = _read_new(metrics_file, offset)
                for ev in events:
                    if ev.get("event") == "epoch":
                        logs = {k: float(v) for k, v in ev.items()  # type: ignore[arg-type]
                                if k not in ("event", "epoch")}
                        history.append(logs)
                        if on_epoch is not None and not pruned and on_epoch(int(ev["epoch"]), logs):  # type: ignore[call-overload]
                            pruned = True
                            proc.terminate()
                    elif ev.get("event") == "done" and isinstance(ev.get("metrics"), dict):
                        metrics = {str(k): float(v) for k, v in ev["metrics"].items()}  # type: ignore[attr-defined]
                if finished or pruned:
                    break
                time.sleep(_POLL_S)
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    duration = time.perf_counter() - start
    if pruned:
        return TrialRun(None, metrics, history, True, duration)
    if proc.returncode != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise TrainingError(f"training script exited with status {proc.returncode}; "
                            f"log {log_file} ends with:\n{tail}")
    return TrialRun(output_dir, metrics, history, False, duration)
