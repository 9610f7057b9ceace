"""A local HyperDrive: random sampling, median early stopping and run limits, with Optuna.

HyperDrive setting -> what runs here:

===============================  ==========================================================
``RandomParameterSampling``      ``optuna.samplers.RandomSampler(seed=...)``
``choice/uniform/...``           :mod:`.search_space` (same semantics)
``MedianStoppingPolicy``         ``optuna.pruners.MedianPruner(n_warmup_steps=delay_evaluation+1,
(evaluation_interval,            interval_steps=evaluation_interval)``; a step is an epoch (from
delay_evaluation)                1); the training script reports ``PRIMARY_METRIC`` after each
``max_total_runs``               ``MaxTrialsCallback`` over the (shared) study
``max_concurrent_runs``          that many trials at once, each a training-script process
``primary_metric_name/goal``     the epoch log read, and the study direction
===============================  ==========================================================

The study lives in ``storage``: by default an SQLite file in the sweep's work directory; any
database URL Optuna accepts (``sqlite:///shared/sweep.db``, ``postgresql://...``) lets several
processes or machines work on one sweep: start :func:`main` on each with the same
``--storage`` and ``--study_name`` (``max_total_runs`` counts the trials of all workers).
Model directories are written under each worker's ``--workdir``; put it on a shared file system
when workers run on several machines and the best model must be picked up afterwards.

A sweep config (``conf/sweep/*.yaml``, schema :class:`SweepConfig`) becomes a :class:`SweepSpec`:

>>> spec = SweepSpec.from_config({"parameter_space": {"--hidden": "choice(50, 100)"},
...                               "max_total_runs": 4})
>>> spec.max_concurrent_runs, spec.policy.delay_evaluation
(1, 0)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition._validation import Interval, StrOptions, check_param, validate_params
from asl_recognition.config import load_config, validate_config
from asl_recognition.errors import AslRecognitionError, ConfigurationError
from asl_recognition.tracking import redact_uri
from asl_recognition.trainers.base import TrialRecord, TrialState
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn._runner import TrialRun, run_in_process, run_subprocess
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC, PRIMARY_METRIC_GOAL
from asl_recognition.trainers.cnn.search_space import SearchSpace

if TYPE_CHECKING:
    from asl_recognition.tracking import TrackedRun

__all__ = [
    "MedianPolicy",
    "PolicyConfig",
    "SweepConfig",
    "SweepOutcome",
    "SweepSpec",
    "load_sweep_config",
    "main",
    "run_sweep",
]

logger = logging.getLogger(__name__)

_GOALS = ("maximize", "minimize")


@dataclasses.dataclass(frozen=True)
class MedianPolicy:
    """HyperDrive's ``MedianStoppingPolicy(evaluation_interval, delay_evaluation)``."""

    evaluation_interval: int = 1
    delay_evaluation: int = 0

    def pruner(self) -> Any:
        """The equivalent Optuna pruner.

        Steps are epochs counted from 1, so the first ``delay_evaluation`` epochs are never
        evaluated (``n_warmup_steps = delay_evaluation + 1``); then every
        ``evaluation_interval``-th epoch is compared with the median of the other trials'
        values at the same epoch (``n_startup_trials=1``: once one trial has finished).
        """
        import optuna

        return optuna.pruners.MedianPruner(
            n_startup_trials=1, n_warmup_steps=self.delay_evaluation + 1,
            interval_steps=self.evaluation_interval,
        )


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A HyperDrive configuration (see :meth:`from_config` for the keys)."""

    space: SearchSpace
    policy: MedianPolicy | None = MedianPolicy()
    max_total_runs: int = 10
    max_concurrent_runs: int = 1
    primary_metric_name: str = PRIMARY_METRIC
    primary_metric_goal: str = PRIMARY_METRIC_GOAL
    storage: str | None = None
    study_name: str = "cnn-sweep"
    sampler_seed: int | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SweepSpec:
        """Build from a Hydra/YAML mapping shaped like :class:`SweepConfig` (its keys and defaults)."""
        cfg = validate_config(SweepConfig, config, where="sweep config")
        if cfg["sampling"] != "random":
            raise ConfigurationError(f"sweep config: only sampling 'random' is supported, got {cfg['sampling']!r}")
        space = SearchSpace.parse(cfg["parameter_space"], allowed=TrainConfig.fields())
        policy: MedianPolicy | None = None
        if cfg["policy"] is not None:
            policy_cfg = dict(cfg["policy"])
            check_param("type", policy_cfg.pop("type"), StrOptions(["median"]), hint="(or policy: null)",
                        where="sweep.policy", error=ConfigurationError)
            validate_params(policy_cfg, {"evaluation_interval": [Interval(int, 1, None)],
                                         "delay_evaluation": [Interval(int, 0, None)]},
                            where="sweep.policy", error=ConfigurationError)
            policy = MedianPolicy(**policy_cfg)
        validate_params(cfg, {"max_total_runs": [Interval(int, 1, None)],
                              "max_concurrent_runs": [Interval(int, 1, None)],
                              "primary_metric_goal": [StrOptions(_GOALS)]},
                        where="sweep", error=ConfigurationError)
        return cls(
            space=space, policy=policy,
            max_total_runs=cfg["max_total_runs"],
            max_concurrent_runs=cfg["max_concurrent_runs"],
            primary_metric_name=cfg["primary_metric_name"],
            primary_metric_goal=cfg["primary_metric_goal"],
            storage=cfg["storage"],
            study_name=cfg["study_name"] or SweepSpec.study_name,
            sampler_seed=cfg["sampler_seed"],
        )


@dataclasses.dataclass
class PolicyConfig:
    """``policy:`` of a sweep config: HyperDrive's ``MedianStoppingPolicy`` (:class:`MedianPolicy`)."""

    type: str = "median"
    evaluation_interval: int = MedianPolicy.evaluation_interval
    delay_evaluation: int = MedianPolicy.delay_evaluation


@dataclasses.dataclass
class SweepConfig:
    """A sweep config as written in ``conf/sweep/*.yaml``: the schema Hydra composes it onto.

    ``parameter_space`` (required) maps training-script arguments to HyperDrive expressions
    (``--hidden: choice(50, 100)``, :mod:`.search_space`); ``sampling`` must be ``random``;
    ``policy`` is ``null`` or a :class:`PolicyConfig`. The other keys are those of
    :class:`SweepSpec`, with its defaults.
    """

    parameter_space: dict[str, Any] = dataclasses.field(default="???")  # type: ignore[arg-type]  # required
    sampling: str = "random"
    policy: PolicyConfig | None = dataclasses.field(default_factory=PolicyConfig)
    max_total_runs: int = SweepSpec.max_total_runs
    max_concurrent_runs: int = SweepSpec.max_concurrent_runs
    primary_metric_name: str = SweepSpec.primary_metric_name
    primary_metric_goal: str = SweepSpec.primary_metric_goal
    storage: str | None = SweepSpec.storage
    study_name: str | None = SweepSpec.study_name
    sampler_seed: int | None = SweepSpec.sampler_seed


def load_sweep_config(name_or_path: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """A sweep config with every default: a shipped name (``conf/sweep/<name>.yaml``), a YAML path
    or a mapping, composed by Hydra and checked against :class:`SweepConfig`."""
    return load_config("sweep", name_or_path, schema=SweepConfig)


@dataclasses.dataclass
class SweepOutcome:
    """Result of :func:`run_sweep`."""

    best_number: int
    best_value: float
    best_params: dict[str, Any]
    best_model_dir: Path
    trials: list[TrialRecord]
    storage: str
    study_name: str


_STATES: dict[str, TrialState] = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed",
                                  "RUNNING": "running", "WAITING": "running"}


def _record(trial: Any) -> TrialRecord:
    start, end = trial.datetime_start, trial.datetime_complete
    return TrialRecord(
        number=int(trial.number),
        params=dict(trial.params),
        value=None if trial.value is None else float(trial.value),
        state=_STATES.get(trial.state.name, "failed"),
        duration_s=(end - start).total_seconds() if start and end else 0.0,
        intermediate={int(k): float(v) for k, v in trial.intermediate_values.items()},
    )


def run_sweep(
    spec: SweepSpec,
    base: TrainConfig,
    *,
    workdir: Path,
    train_file: Path,
    validation_file: Path,
    in_process: bool = False,
    data_fingerprint: str | None = None,
    tracking: TrackedRun | None = None,
) -> SweepOutcome:
    """Run (or join) the sweep ``spec`` around ``base`` and return the best trial.

    Each trial trains ``base`` with the sampled parameters on ``train_file`` and is scored on
    ``validation_file`` (both ``.npz`` or CSV); the model of every completed trial is saved
    under ``workdir/trial_<n>/model``. With ``tracking``, every trial is an MLflow run nested
    under it (its parameters, per-epoch metrics and state), logged by run id: safe with
    concurrent trials and with workers on other machines.

    ``max_total_runs`` counts the trials of every worker of the study: a worker that joins a
    study which has them all runs none, and a trial numbered past the limit (two workers
    starting their last trials at once) is not trained but ended at once as failed, with the
    user attribute ``over_limit``.
    """
    import optuna

    from asl_recognition import progress

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    storage = spec.storage or f"sqlite:///{(workdir / 'sweep.db').resolve()}"
    if in_process and spec.max_concurrent_runs > 1:
        raise ConfigurationError("in-process sweeps run one trial at a time; "
                                 "set max_concurrent_runs: 1 or in_process=False")
    study = _open_study(optuna, storage, spec)
    threads = base.threads or max(1, (os.cpu_count() or 1) // spec.max_concurrent_runs)
    arrays: tuple[_data.Arrays, _data.Arrays] | None = None
    if in_process:
        arrays = (_data.load_arrays(train_file), _data.load_arrays(validation_file))
    metric = spec.primary_metric_name
    remaining = spec.max_total_runs - len(study.get_trials(deepcopy=False))

    with progress.task(f"cnn sweep {spec.study_name}", total=spec.max_total_runs) as sweep_task:

        def objective(trial: Any) -> float:
            if trial.number >= spec.max_total_runs:
                trial.set_user_attr("over_limit", True)
                trial.study.stop()
                raise _OverLimit(f"trial {trial.number}: the study has its {spec.max_total_runs} trials")
            params = spec.space.suggest(trial)
            config = base.replace(**params, threads=threads)
            out = workdir / f"trial_{trial.number:04d}" / "model"
            trial.set_user_attr("model_dir", str(out.resolve()))
            tags = {"optuna.study": spec.study_name, "optuna.trial": trial.number,
                    "optuna.storage": redact_uri(storage)}  # fmt: skip
            run = None if tracking is None else tracking.child(f"trial {trial.number}", params=params, tags=tags)
            if run is not None:
                trial.set_user_attr("mlflow_run_id", run.run_id)
            try:
                value = _trial(trial, config, out, run)
            except optuna.TrialPruned:
                if run is not None:
                    run.set_tags({"state": "pruned"})
                    run.finish("KILLED")
                raise
            except BaseException:
                if run is not None:
                    run.finish("FAILED")
                raise
            if run is not None:
                run.set_tags({"state": "complete"})
                run.finish()
            return value

        def _trial(trial: Any, config: TrainConfig, out: Path, run: TrackedRun | None) -> float:
            with progress.task(f"cnn trial {trial.number}", total=config.epochs) as t:

                def on_epoch(epoch: int, logs: dict[str, float]) -> bool:
                    t.advance(1, **{k: round(v, 4) for k, v in logs.items() if k.startswith("val")})
                    if run is not None:
                        run.log_metrics(logs, step=epoch)
                    if metric not in logs:
                        return False
                    trial.report(logs[metric], epoch)
                    return bool(trial.should_prune())

                trial_run: TrialRun
                if arrays is not None:
                    trial_run = run_in_process(config, arrays[0], arrays[1], output_dir=out,
                                               on_epoch=on_epoch, data_fingerprint=data_fingerprint)
                else:
                    trial_run = run_subprocess(config, train_file, validation_file, output_dir=out,
                                               on_epoch=on_epoch, data_fingerprint=data_fingerprint)
            trial.set_user_attr("duration_s", trial_run.duration_s)
            if trial_run.pruned:
                sweep_task.advance(1, pruned=trial.number)
                raise optuna.TrialPruned()
            if not trial_run.history or metric not in trial_run.history[-1]:
                raise ConfigurationError(f"trial {trial.number} logged no {metric!r} "
                                         f"(logged: {sorted(trial_run.history[-1]) if trial_run.history else []})")
            value = float(trial_run.history[-1][metric])
            sweep_task.advance(1, last=round(value, 4))
            return value

        if remaining > 0:
            study.optimize(
                objective, n_trials=remaining, n_jobs=spec.max_concurrent_runs,
                catch=(AslRecognitionError,),
                callbacks=[optuna.study.MaxTrialsCallback(spec.max_total_runs, states=None)],
            )
    trials = [_record(t) for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("over_limit")]
    try:
        best = study.best_trial
    except ValueError as exc:
        raise AslRecognitionError(f"sweep {spec.study_name!r}: no trial completed") from exc
    return SweepOutcome(
        best_number=best.number, best_value=float(best.value if best.value is not None else "nan"),
        best_params=dict(best.params),
        best_model_dir=Path(best.user_attrs["model_dir"]), trials=trials, storage=storage,
        study_name=spec.study_name,
    )


class _OverLimit(AslRecognitionError):
    """A trial numbered past ``max_total_runs`` (other workers started the last ones)."""


def main(argv: Sequence[str] | None = None) -> int:
    """One sweep worker: ``python -m asl_recognition.trainers.cnn.sweep --sweep seed ...``.

    Start several with the same ``--storage`` and ``--study_name`` to share one sweep; with
    ``--tracking_uri`` (and ``--parent_run_id``) each trial is logged as an MLflow run.
    """
    p = argparse.ArgumentParser(prog="python -m asl_recognition.trainers.cnn.sweep")
    p.add_argument("--sweep", required=True, help="conf/sweep name or YAML path")
    p.add_argument("--data", required=True, help="training data (dir, CSV or .npz)")
    p.add_argument("--validation", required=True, help="validation data (CSV or .npz)")
    p.add_argument("--workdir", required=True)
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: from config)")
    p.add_argument("--study_name", default=None)
    p.add_argument("--max_concurrent_runs", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="base training parameter, e.g. --set arch=seed --set epochs=2")
    p.add_argument("--in_process", action="store_true")
    p.add_argument("--tracking_uri", default=None,
                   help="MLflow tracking URI: log every trial as a run (nested under --parent_run_id)")
    p.add_argument("--parent_run_id", default=None,
                   help="MLflow run to nest the trials under (default: a new run per worker)")
    p.add_argument("--experiment", default="asl_recognition", help="MLflow experiment of a new worker run")
    args = p.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(name)s %(message)s")
    try:
        cfg = load_sweep_config(args.sweep)
        for key in ("storage", "study_name", "max_concurrent_runs"):
            if getattr(args, key) is not None:
                cfg[key] = getattr(args, key)
        spec = SweepSpec.from_config(cfg)
        overrides: dict[str, Any] = {}
        for item in args.set:
            name, sep, value = item.partition("=")
            if not sep:
                raise ConfigurationError(f"--set expects NAME=VALUE, got {item!r}")
            try:
                overrides[name] = json.loads(value)  # numbers, true/false, null
            except json.JSONDecodeError:
                overrides[name] = value
        tracking, own = _worker_run(args, spec)
        try:
            outcome = run_sweep(spec, TrainConfig().replace(**overrides), workdir=Path(args.workdir),
                                train_file=Path(args.data), validation_file=Path(args.validation),
                                in_process=args.in_process, tracking=tracking)
        except BaseException:
            if own and tracking is not None:
                tracking.finish("FAILED")
            raise
        if own and tracking is not None:
            tracking.finish()
    except AslRecognitionError as exc:
        logger.error("%s: %s", type(exc).__name__, exc)
        return 2
    logger.info("best trial %d: %s=%.4f params=%s model=%s", outcome.best_number,
                spec.primary_metric_name, outcome.best_value, outcome.best_params, outcome.best_model_dir)
    return 0


def _worker_run(args: argparse.Namespace, spec: SweepSpec) -> tuple[TrackedRun | None, bool]:
    """The run this worker's trials nest under, and whether the worker created it (and ends it)."""
    if args.tracking_uri is None:
        if args.parent_run_id is not None:
            raise ConfigurationError("--parent_run_id needs --tracking_uri")
        return None, False
    import socket

    from asl_recognition.tracking import TrackedRun

    if args.parent_run_id is not None:
        return TrackedRun.attach(args.tracking_uri, args.parent_run_id), False
    run = TrackedRun.create(args.tracking_uri, experiment=args.experiment,
                            name=f"sweep {spec.study_name} on {socket.gethostname()} ({os.getpid()})",
                            tags={"optuna.study": spec.study_name})  # fmt: skip
    return run, True


def _open_study(optuna: Any, storage: str, spec: SweepSpec) -> Any:
    """Create or join the study; safe when several workers start at the same moment.

    SQLite allows one writer at a time: connections wait up to 60 s for a lock instead of
    failing at once, and the create-or-load race between workers that start together (both
    see no study, one insert wins) is retried, after which the loser loads the winner's study.
    """
    import sqlalchemy.exc

    last: Exception | None = None
    for attempt in range(5):
        try:
            # building the storage creates the schema: the first place two new workers collide
            url: Any = storage
            if storage.startswith("sqlite"):
                url = optuna.storages.RDBStorage(url=storage, engine_kwargs={"connect_args": {"timeout": 60}})
            return optuna.create_study(
                storage=url, study_name=spec.study_name, load_if_exists=True,
                direction="maximize" if spec.primary_metric_goal == "maximize" else "minimize",
                sampler=optuna.samplers.RandomSampler(seed=spec.sampler_seed),
                pruner=spec.policy.pruner() if spec.policy else optuna.pruners.NopPruner(),
            )
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError,
                optuna.exceptions.DuplicatedStudyError) as exc:
            last = exc
            time.sleep(0.2 * (attempt + 1))
    raise ConfigurationError(f"could not open sweep study {spec.study_name!r} in {storage}: {last}")


if __name__ == "__main__":
    sys.exit(main())

