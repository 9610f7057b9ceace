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

__all__ = ["JobData", "JobResult", "TrainerSpec", "load_job_data", "run_job"]

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


@dataclasses.dataclass(frozen=True)
class TrainerSpec:
    """One entry of the ``trainer`` config group.

    Attributes:
        name: registered trainer name.
        params: keyword arguments of the trainer.
        refit: after validation, train again on the whole training file (fit part + validation
            part) and keep that model; its validation metrics are those of the first fit. This
            is scikit-learn's ``GridSearchCV(refit=True)`` practice: the validation split
            measures the procedure, the deployed model uses all the data.
    """

    name: str
    params: dict[str, Any]
    refit: bool = False


def _trainer_specs(cfg: Mapping[str, Any]) -> dict[str, TrainerSpec]:
    section = _section(cfg, "trainer")
    if not section:
        raise ConfigurationError("no trainer selected: set e.g. trainer=[sklearn,svm]")
    specs: dict[str, TrainerSpec] = {}
    for key, spec in section.items():
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise ConfigurationError(f"trainer.{key} must have a 'name' (registered trainer) and 'params'")
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigurationError(f"trainer.{key}.params must be a mapping")
        refit = spec.get("refit", False)
        if not isinstance(refit, bool):
            raise ConfigurationError(f"trainer.{key}.refit must be true or false, got {refit!r}")
        specs[str(key)] = TrainerSpec(str(spec["name"]), dict(params), refit)
    return specs


@dataclasses.dataclass(frozen=True)
class JobData:
    """The datasets of a job: the whole training file, its leak-free split, and the test file."""

    train: Dataset
    fit: Dataset
    validation: Dataset
    test: Dataset


def load_job_data(cfg: Mapping[str, Any]) -> JobData:
    """Load train and test per ``cfg['data']`` and split the training file leak-free."""
    from asl_recognition.data import load_dataset

    data = _section(cfg, "data")
    split = _section(data, "validation")
    load_opts = {k: v for k, v in data.items() if k not in ("validation", "photos_train")}
    with progress.task("loading data", total=2) as t:
        train = load_dataset("train", **load_opts)
        t.advance()
        test = load_dataset("test", **load_opts)
        t.advance()
    with progress.task("leak-free validation split", total=None):
        fit_part, validation = train.split_validation(**split)
    log.info("data: %d train (%d fit / %d validation), %d test", len(train), len(fit_part), len(validation), len(test))
    return JobData(train, fit_part, validation, test)


def run_job(
    cfg: Mapping[str, Any],
    *,
    output_dir: str | Path,
    data: JobData | None = None,
) -> JobResult:
    """Run the main job described by ``cfg`` (the composed Hydra config as a plain mapping).

    Args:
        cfg: keys ``trainer`` (key -> {name, params}), ``data`` (load options and ``validation``
            split options), ``compare`` (Comparator options), ``seed``, ``report`` (bool).
        output_dir: where ``models/<key>/``, ``best/`` and ``report/`` are written.
        data: the datasets to use instead of loading them per ``cfg['data']``.
    """
    from asl_recognition.compare import Comparator

    out = Path(output_dir)
    seed = int(cfg.get("seed", 0))
    specs = _trainer_specs(cfg)
    # Build every trainer first: a typo in the last trainer's params fails before hours of training.
    # A product of other trainers' models (members: [KEY, ...]) is built once they are trained.
    references = {key: _job_references(key, spec, list(specs)) for key, spec in specs.items()}
    trainers = {key: get_trainer(spec.name, **spec.params) for key, spec in specs.items() if not references[key]}
    data = data if data is not None else load_job_data(cfg)

    results: dict[str, TrainResult] = {}
    model_dirs: dict[str, Path] = {}
    for key in specs:
        if references[key]:
            resolved = {param: _resolve(value, results) for param, value in references[key].items()}
            trainer = get_trainer(specs[key].name, **{**specs[key].params, **resolved})
        else:
            trainer = trainers[key]
        with progress.task(f"training {key} ({specs[key].name})", total=None):
            start = time.perf_counter()
            result = trainer.fit(data.fit, validation=data.validation, seed=seed)
            result.timings.setdefault("fit_s", time.perf_counter() - start)
        if specs[key].refit:
            result = _refit(trainer, result, data.train, seed=seed, key=key)
        results[key] = result
        model_dirs[key] = result.model.save(out / "models" / key)
        log.info("%s: validation accuracy %s", key, result.metrics.get("validation_accuracy"))

    compare_opts = _section(cfg, "compare")
    with progress.task("comparing on the test file", total=None):
        comparison = Comparator.from_config(data.test, compare_opts).evaluate(results)
    best_dir = results[comparison.winner].model.save(out / "best")
    report_dir: Path | None = None
    if cfg.get("report", True):
        report_dir = comparison.write_report(out / "report")
    return JobResult(results, comparison, model_dirs, best_dir, report_dir)


def _job_references(key: str, spec: Any, order: list[str]) -> dict[str, str | list[str]]:
    """The parameters of trainer ``key`` that name other trainers of this job, whose trained
    models it is given instead (a trainer class lists such parameters in its
    ``job_references``, e.g. a product's ``members: [cnn_fast, pose]``, the photo trainer's
    ``pixel: cnn_fast``); each named trainer must come earlier in the job."""
    from asl_recognition.trainers.base import trainers as registry

    names = getattr(registry.get(spec.name), "job_references", ())
    earlier = order[: order.index(key)]
    out: dict[str, str | list[str]] = {}
    for param in names:
        value = spec.params.get(param)
        if isinstance(value, str) or (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
            wanted = [value] if isinstance(value, str) else list(value)
            wrong = [m for m in wanted if m not in earlier]
            if wrong:
                raise ConfigurationError(
                    f"trainer {key!r}: {param} {value!r} must name trainers listed before it in this job "
                    f"({', '.join(earlier) or 'none'}); unknown or later: {wrong}"
                )
            out[param] = value if isinstance(value, str) else [str(v) for v in value]
    return out


def _resolve(value: str | list[str], results: Mapping[str, TrainResult]) -> Any:
    """A job reference -> the trained model(s) it names (a list becomes ``{key: model}``)."""
    if isinstance(value, str):
        return results[value].model
    return {k: results[k].model for k in value}


def _refit(trainer: Any, first: TrainResult, train: Dataset, *, seed: int, key: str) -> TrainResult:
    """Train again on the whole training file; keep the first fit's validation metrics."""
    with progress.task(f"refitting {key} on the whole training file", total=None):
        start = time.perf_counter()
        refit = trainer.fit(train, validation=None, seed=seed)
        refit_s = time.perf_counter() - start
    model = refit.model
    model.metadata.metrics.update(first.metrics)
    model.metadata.extra["refit"] = {"on": train.name, "rows": len(train),
                                     "validation_metrics_from": "fit on the leak-free training part"}
    return TrainResult(
        model=model,
        metrics=dict(first.metrics),
        hyperparameters=refit.hyperparameters or first.hyperparameters,
        timings={"fit_s": first.timings.get("fit_s", 0.0) + refit_s, "refit_s": refit_s},
        trials=first.trials,
        backend=first.backend,
    )
