"""The main job: load data, train the configured backends, compare them, save, report.

The Hydra CLI (:mod:`asl_recognition.cli`) is a thin shell around :func:`run_job`, so the same
job runs from Python with a plain mapping::

    from asl_recognition.job import run_job
    run_job({"trainer": {"lr": {"name": "sklearn", "params": {}}}}, output_dir="out")
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition import progress
from asl_recognition._job_tracking import log_comparison, log_train_result
from asl_recognition._trainpool import TrainEntry, train_entries
from asl_recognition._validation import Interval, Options, check_param
from asl_recognition.errors import ConfigurationError
from asl_recognition.tracking import TrackedRun, TrackingConfig, start_run, tracking_config
from asl_recognition.trainers.base import JobModelsUser, Preflight, TrackingUser, TrainResult, get_trainer

if TYPE_CHECKING:
    from asl_recognition.compare import ComparisonResult
    from asl_recognition.data.dataset import Dataset

__all__ = ["JobData", "JobResult", "TrainerSpec", "load_job_data", "run_job", "with_shared_azure"]

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
        run_id: the MLflow parent run's id (None when tracking is off).
        tracking_uri: the MLflow store it is in (None when tracking is off).
    """

    results: dict[str, TrainResult]
    comparison: ComparisonResult
    model_dirs: dict[str, Path]
    best_dir: Path
    report_dir: Path | None
    run_id: str | None = None
    tracking_uri: str | None = None


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


def with_shared_azure(params: Mapping[str, Any], cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with an ``azure: null`` entry set to the config's ``azure`` section (the
    ``azure`` config group, shared by the Azure trainers and deployers), if there is one."""
    shared = cfg.get("azure")
    out = dict(params)
    if shared and "azure" in out and out["azure"] is None:
        out["azure"] = dict(shared)
    return out


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
        refit = check_param("refit", spec.get("refit", False), bool, where=f"trainer.{key}", error=ConfigurationError)
        specs[str(key)] = TrainerSpec(str(spec["name"]), with_shared_azure(params, cfg), refit)
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
    tracking: TrackingConfig | Mapping[str, Any] | str | None = None,
) -> JobResult:
    """Run the main job described by ``cfg`` (the composed Hydra config as a plain mapping).

    Args:
        cfg: keys ``trainer`` (key -> {name, params}), ``data`` (load options and ``validation``
            split options), ``compare`` (Comparator options), ``seed``, ``report`` (bool) and
            ``azure`` (settings for trainers whose ``azure`` parameter is null) and ``workers``
            (trainers that train at once, each in a worker process; -1: one per core, see
            :func:`asl_recognition._workers.resolve_workers`, as ``conf/config.yaml`` sets;
            absent, None or 1: one after the other in this process, the safe choice for a
            script that has no ``if __name__ == "__main__":`` guard, which spawned workers need).
        output_dir: where ``models/<key>/``, ``best/`` and ``report/`` are written.
        data: the datasets to use instead of loading them per ``cfg['data']``.
        tracking: MLflow tracking (``"mlflow"``, a :class:`~asl_recognition.tracking.TrackingConfig`
            or its mapping); None: ``cfg['tracking']``, and off when that is missing. When on, the
            job logs a parent run and a child run per trainer (docs/mlflow.md); trainers in
            worker processes log to their runs by id.
    """
    from asl_recognition.compare import Comparator

    out = Path(output_dir)
    seed = int(cfg.get("seed", 0))
    workers = check_param("workers", cfg.get("workers"), None, Options([-1]), Interval(int, 1, None),
                          error=ConfigurationError)  # fmt: skip
    specs = _trainer_specs(cfg)
    track = tracking_config(tracking if tracking is not None else cfg.get("tracking"))
    # Build every trainer first: a typo in the last trainer's params fails before hours of training.
    trainers = {key: get_trainer(spec.name, **spec.params) for key, spec in specs.items()}
    # A trainer that combines other trainers' models (product) names them; they train before it.
    uses = {key: _job_models(key, trainer, list(specs)) for key, trainer in trainers.items()}
    # Cloud trainers check their workspace now, before the data is loaded.
    for trainer in trainers.values():
        if isinstance(trainer, Preflight):
            trainer.preflight()
    data = data if data is not None else load_job_data(cfg)

    parent = _start_tracking(track, cfg, specs, out)
    children: dict[str, TrackedRun] = {}
    try:
        if parent is not None:
            for key, spec in specs.items():
                children[key] = parent.child(key, params={"trainer": spec.name, "refit": spec.refit, **spec.params})
                trainer = trainers[key]
                if isinstance(trainer, TrackingUser):
                    trainer.use_tracking(children[key])  # travels with the trainer to its worker process
        entries = [TrainEntry(key, spec.name, trainers[key], spec.refit, tuple(uses[key]))
                   for key, spec in specs.items()]  # fmt: skip
        trained = train_entries(entries, fit=data.fit, validation=data.validation, train=data.train, seed=seed,
                                models_dir=out / "models", workers=workers)  # fmt: skip
        results = {key: result for key, (result, _) in trained.items()}
        model_dirs = {key: path for key, (_, path) in trained.items()}
        for key, run in children.items():
            log_train_result(run, results[key], model_dir=model_dirs[key], n_validation=len(data.validation),
                             log_model=track.log_models)  # fmt: skip

        compare_opts = _section(cfg, "compare")
        if compare_opts.get("workers") is None:
            compare_opts["workers"] = workers  # the models predict in as many processes as trained
        with progress.task("comparing on the test file", total=None):
            comparison = Comparator.from_config(data.test, compare_opts).evaluate(results)
        best_dir = results[comparison.winner].model.save(out / "best")
        report_dir: Path | None = None
        if cfg.get("report", True):
            report_dir = comparison.write_report(out / "report")
        if parent is not None:
            log_comparison(parent, children, comparison, report_dir=report_dir, best_dir=best_dir,
                           log_models=track.log_models)  # fmt: skip
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        for run in [*children.values(), *([parent] if parent is not None else [])]:
            run.finish(status)
        raise
    for run in [*children.values(), *([parent] if parent is not None else [])]:
        run.finish()
    return JobResult(results, comparison, model_dirs, best_dir, report_dir,
                     None if parent is None else parent.run_id, None if parent is None else parent.tracking_uri)


def _start_tracking(track: TrackingConfig, cfg: Mapping[str, Any], specs: Mapping[str, TrainerSpec],
                    out: Path) -> TrackedRun | None:  # fmt: skip
    """The job's parent run, or None when tracking is off (MLflow is then not imported)."""
    if not track.enabled:
        return None
    from asl_recognition._job_tracking import job_params

    return start_run(track, output_dir=out, name=f"job {out.resolve().name}",
                     params=job_params(cfg, {k: s.name for k, s in specs.items()}),
                     tags={"output_dir": str(out.resolve())})  # fmt: skip


def _job_models(key: str, trainer: Any, order: list[str]) -> list[str]:
    """The keys of the job's trainers whose models ``trainer`` combines (a
    :class:`~asl_recognition.trainers.base.JobModelsUser`); each must come earlier in the job."""
    if not isinstance(trainer, JobModelsUser) or not trainer.job_models:
        return []
    wanted = list(trainer.job_models)
    earlier = order[: order.index(key)]
    wrong = [m for m in wanted if m not in earlier]
    if wrong:
        raise ConfigurationError(
            f"trainer {key!r}: members {wanted} must name trainers listed before it "
            f"in this job ({', '.join(earlier) or 'none'}); unknown or later: {wrong}"
        )
    return wanted
