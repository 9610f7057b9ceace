"""The main job: load data, train the configured backends, compare them, save, report.

The Hydra CLI (:mod:`asl_recognition.cli`) is a thin shell around :func:`run_job`, so the same
job runs from Python with a plain mapping::

    from asl_recognition.job import run_job
    run_job({"trainer": {"lr": {"name": "sklearn", "params": {}}}}, output_dir="out")
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition import progress
from asl_recognition.errors import ConfigurationError
from asl_recognition.trainers.base import TrainResult, get_trainer

if TYPE_CHECKING:
    from asl_recognition.compare import ComparisonResult
    from asl_recognition.data.dataset import Dataset

__all__ = ["JobResult", "run_job"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class JobResult:
    """What :func:`run_job` produced.

    Attributes:
        results: the TrainResult of every trainer, by config key.
        comparison: the Comparator's result on the test file.
        model_dirs: where each model was saved, by config key.
        best_dir: where the winner was saved.
        report_dir: the report directory (None if reports are off).
    """

    results: dict[str, TrainResult]
    comparison: ComparisonResult
    model_dirs: dict[str, Path]
    best_dir: Path
    report_dir: Path | None


def _section(cfg: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = cfg.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"config section {key!r} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _trainer_specs(cfg: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    section = _section(cfg, "trainer")
    if not section:
        raise ConfigurationError("no trainer selected: set e.g. trainer=[sklearn,svm]")
    specs: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, spec in section.items():
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise ConfigurationError(f"trainer.{key} must have a 'name' (registered trainer) and 'params'")
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigurationError(f"trainer.{key}.params must be a mapping")
        specs[str(key)] = (str(spec["name"]), dict(params))
    return specs


def load_job_data(cfg: Mapping[str, Any]) -> tuple[Dataset, Dataset, Dataset]:
    """Load train and test per ``cfg['data']``; return (fit part, validation part, test)."""
    from asl_recognition.data import load_dataset

    data = _section(cfg, "data")
    split = _section(data, "validation")
    load_opts = {k: v for k, v in data.items() if k != "validation"}
    with progress.task("loading data", total=2) as t:
        train = load_dataset("train", **load_opts)
        t.advance()
        test = load_dataset("test", **load_opts)
        t.advance()
    with progress.task("leak-free validation split", total=None):
        fit_part, validation = train.split_validation(**split)
    log.info("data: %d train (%d fit / %d validation), %d test", len(train), len(fit_part), len(validation), len(test))
    return fit_part, validation, test


def run_job(
    cfg: Mapping[str, Any],
    *,
    output_dir: str | Path,
    data: tuple[Dataset, Dataset, Dataset] | None = None,
) -> JobResult:
    """Run the main job described by ``cfg`` (the composed Hydra config as a plain mapping).

    Args:
        cfg: keys ``trainer`` (key -> {name, params}), ``data`` (load options and ``validation``
            split options), ``compare`` (Comparator options), ``seed``, ``report`` (bool).
        output_dir: where ``models/<key>/``, ``best/`` and ``report/`` are written.
        data: (fit part, validation part, test) to use instead of loading per ``cfg['data']``.
    """
    from asl_recognition.compare import Comparator

    out = Path(output_dir)
    seed = int(cfg.get("seed", 0))
    specs = _trainer_specs(cfg)
    # Build every trainer first: a typo in the last trainer's params fails before hours of training.
    trainers = {key: get_trainer(name, **params) for key, (name, params) in specs.items()}
    fit_part, validation, test = data if data is not None else load_job_data(cfg)

    results: dict[str, TrainResult] = {}
    model_dirs: dict[str, Path] = {}
    for key, trainer in trainers.items():
        with progress.task(f"training {key} ({specs[key][0]})", total=None):
            start = time.perf_counter()
            result = trainer.fit(fit_part, validation=validation, seed=seed)
            result.timings.setdefault("fit_s", time.perf_counter() - start)
        results[key] = result
        model_dirs[key] = result.model.save(out / "models" / key)
        log.info("%s: validation accuracy %s", key, result.metrics.get("validation_accuracy"))

    compare_opts = _section(cfg, "compare")
    with progress.task("comparing on the test file", total=None):
        comparison = Comparator.from_config(test, compare_opts).evaluate(results)
    best_dir = results[comparison.winner].model.save(out / "best")
    report_dir: Path | None = None
    if cfg.get("report", True):
        report_dir = comparison.write_report(out / "report")
    return JobResult(results, comparison, model_dirs, best_dir, report_dir)
