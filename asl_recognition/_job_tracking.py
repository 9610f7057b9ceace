"""What the main job logs when tracking is on: the runs and their contents (docs/mlflow.md).

* the parent run (one per job): the job's parameters (seed, data and compare options, trainer
  names), the winner, each pair's McNemar test (``mcnemar/<a>_vs_<b>/...``), the report
  directory (``report/``) and the winner's model (``best_model/``);
* a child run per trainer: its parameters, validation metrics (with the 95% Wilson interval of
  the validation accuracy), timings, the test metrics with their intervals, and its model
  (``model/``); the CNN backends add per-epoch metrics and, for sweeps, a child run per trial.

:func:`asl_recognition.job.run_job` calls these; each takes the run explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition.tracking import TrackedRun

if TYPE_CHECKING:
    from asl_recognition.compare import ComparisonResult
    from asl_recognition.trainers.base import TrainResult

__all__ = ["job_params", "log_comparison", "log_train_result"]

logger = logging.getLogger(__name__)


def job_params(cfg: Mapping[str, Any], trainer_names: Mapping[str, str]) -> dict[str, Any]:
    """The parent run's parameters: seed, the trainers (key -> backend), data and compare options."""
    return {
        "seed": cfg.get("seed", 0),
        "trainers": ",".join(f"{k}={v}" for k, v in trainer_names.items()),
        "data": dict(cfg.get("data") or {}),
        "compare": dict(cfg.get("compare") or {}),
    }


def _interval(prefix: str, interval: Any) -> dict[str, Any]:
    if not interval or interval[0] is None or interval[1] is None:
        return {}
    return {f"{prefix}_ci_low": interval[0], f"{prefix}_ci_high": interval[1]}


def log_train_result(run: TrackedRun, result: TrainResult, *, model_dir: Path, n_validation: int | None,
                     log_model: bool) -> None:  # fmt: skip
    """Log a trainer's validation metrics (with the accuracy's interval), timings and model."""
    from asl_recognition.compare._metrics import wilson_interval

    metrics: dict[str, Any] = dict(result.metrics)
    accuracy = result.metrics.get("validation_accuracy")
    if accuracy is not None and n_validation:
        ci = wilson_interval(round(float(accuracy) * n_validation), n_validation)
        metrics.update(_interval("validation_accuracy", ci))
    metrics.update({f"time/{k}": v for k, v in result.timings.items()})
    run.log_metrics(metrics)
    if result.trials:
        run.log_metrics({"trials": len(result.trials),
                         "trials_pruned": sum(t.state == "pruned" for t in result.trials)})  # fmt: skip
    if log_model:
        run.log_artifacts(model_dir, "model")


def log_comparison(parent: TrackedRun, children: Mapping[str, TrackedRun], comparison: ComparisonResult, *,
                   report_dir: Path | None, best_dir: Path, log_models: bool) -> None:  # fmt: skip
    """Log the test metrics of every model (to its run), the McNemar tests, the winner, the
    report and the best model (to the parent run)."""
    for ev in comparison.models:
        test: dict[str, Any] = {
            "test_accuracy": ev.accuracy, "test_macro_f1": ev.macro_f1,
            **_interval("test_accuracy", ev.accuracy_ci),
            **_interval("test_accuracy_bootstrap", ev.accuracy_bootstrap_ci),
            **_interval("test_macro_f1_bootstrap", ev.macro_f1_bootstrap_ci),
            "validation_gap": ev.validation_gap, "size_bytes": ev.size_bytes,
            "latency_single_ms": ev.latency_single_ms, "latency_batch_ms": ev.latency_batch_ms,
            "throughput_ips": ev.throughput_ips, "mean_corruption_accuracy": ev.mean_corruption_accuracy,
        }
        if ev.photos is not None:
            test.update({"photo_accuracy": ev.photos.accuracy, **_interval("photo_accuracy", ev.photos.accuracy_ci)})
        run = children.get(ev.name)
        if run is not None:
            run.log_metrics(test)
            run.set_tags({"rank": comparison.ranking.index(ev.name) + 1 if ev.name in comparison.ranking else "",
                          "winner": ev.name == comparison.winner})  # fmt: skip
        parent.log_metrics({f"{ev.name}/{k}": v for k, v in test.items()})
    alpha = float(comparison.settings.get("alpha", 0.05))
    for pair in comparison.pairwise:
        key = f"mcnemar/{pair.model_a}_vs_{pair.model_b}"
        parent.log_metrics({f"{key}/p_value": pair.p_value, f"{key}/p_holm": pair.p_holm,
                            f"{key}/a_only": pair.a_only, f"{key}/b_only": pair.b_only,
                            f"{key}/significant": float(pair.significant(alpha))})  # fmt: skip
    parent.set_tags({"winner": comparison.winner, "test_set": comparison.dataset})
    parent.log_metrics({"n_test": comparison.n_test})
    if report_dir is not None:
        parent.log_artifacts(report_dir, "report")
    if log_models:
        parent.log_artifacts(best_dir, "best_model")
