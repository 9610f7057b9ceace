"""``KerasCnnTrainer``: the ``cnn`` backend (one training run, or a local HyperDrive sweep).

>>> trainer = KerasCnnTrainer(epochs=1, arch="seed")
>>> trainer.config.arch, trainer.config.epochs
('seed', 1)
>>> KerasCnnTrainer(hidden=0)
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'hidden' must be an integer >= 1, got 0
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from asl_recognition._validation import Interval, check_param
from asl_recognition.errors import InvalidParameterError
from asl_recognition.models import TrainedModel, load_model
from asl_recognition.trainers.base import TrainResult
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn._runner import TrialRun, run_in_process, run_subprocess
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.sweep import SweepSpec, load_sweep_config, run_sweep

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset
    from asl_recognition.tracking import TrackedRun

__all__ = ["KerasCnnTrainer"]

logger = logging.getLogger(__name__)


class KerasCnnTrainer:
    """Keras CNN backend, registered as ``"cnn"``.

    Every :class:`~.config.TrainConfig` field is a keyword argument (``arch``, ``epochs``,
    ``batch_size``, ``hidden``, ``dropout``, ``optimizer``, ``learning_rate``, ``weight_decay``,
    ``schedule``, ``warmup_epochs``, ``label_smoothing``, ``augment``, ``backend``,
    ``threads``, ``deterministic``); ``fit``'s ``seed`` sets the seed. In addition:

    Args:
        sweep: None for one training run; else a HyperDrive-style sweep config (a mapping as in
            ``conf/sweep/*.yaml``, the name of a shipped one such as ``"seed"``, or a YAML path).
            The sweep selects on ``validation`` (or on a leak-free split of ``train``).
        in_process: train in this process (fast start; Keras must be importable here with the
            chosen backend) instead of as a subprocess of the training script (default: any
            backend, concurrent sweep trials, TensorFlow kept out of this process while training).
        workdir: where trial models, logs and the default SQLite study go (kept); default a
            temporary directory deleted after ``fit``.
        validation_fraction: leak-free fraction of ``train`` held out for sweeps when ``fit``
            gets no ``validation``.
    """

    #: the dataclass whose fields ``**params`` are (for the typed config schema)
    extra_params: ClassVar[type[TrainConfig]] = TrainConfig

    def __init__(
        self,
        *,
        sweep: Mapping[str, Any] | str | None = None,
        in_process: bool = False,
        workdir: str | None = None,
        validation_fraction: float = 0.2,
        **params: Any,
    ) -> None:
        if "seed" in params:
            raise InvalidParameterError("'seed' is an argument of fit(), not of the trainer")
        self.config = TrainConfig().replace(**params)
        self.sweep_spec: SweepSpec | None = None
        if sweep is not None:
            raw = load_sweep_config(sweep) if isinstance(sweep, str) else dict(sweep)
            self.sweep_spec = SweepSpec.from_config(raw)
        check_param("in_process", in_process, bool)
        check_param("validation_fraction", validation_fraction, Interval(float, 0, 1, closed="neither"))
        self.in_process = in_process
        self.workdir = workdir
        self.validation_fraction = validation_fraction
        self._tracking: TrackedRun | None = None

    def use_tracking(self, run: TrackedRun | None) -> None:
        """Log per-epoch metrics to ``run`` and, when sweeping, each trial as a run nested under it
        (:class:`~asl_recognition.trainers.base.TrackingUser`)."""
        self._tracking = run

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.config.to_dict().items() if getattr(TrainConfig(), k) != v}
        sweep = f", sweep={self.sweep_spec.study_name!r}" if self.sweep_spec else ""
        return f"KerasCnnTrainer({', '.join(f'{k}={v!r}' for k, v in changed.items())}{sweep})"

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Train (or sweep) on ``train``; report and select on ``validation``."""
        config = self.config.replace(seed=seed)
        start = time.perf_counter()
        own_workdir = self.workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="asl-cnn-")) if own_workdir else Path(str(self.workdir))
        try:
            if self.sweep_spec is not None and validation is None:
                train, validation = train.split_validation(fraction=self.validation_fraction, seed=seed)
            fingerprint = getattr(train, "fingerprint", None)
            train_file = _data.save_npz(workdir / "train.npz", train.images, train.labels)
            val_file = (_data.save_npz(workdir / "validation.npz", validation.images, validation.labels)
                        if validation is not None else None)
            if self.sweep_spec is not None:
                assert val_file is not None
                outcome = run_sweep(self.sweep_spec, config, workdir=workdir, train_file=train_file,
                                    validation_file=val_file, in_process=self.in_process,
                                    data_fingerprint=fingerprint, tracking=self._tracking)
                model_dir, trials = outcome.best_model_dir, outcome.trials
                logger.info("sweep best trial %d (%s) %s", outcome.best_number,
                            outcome.best_params, outcome.best_value)
            else:
                run = self._single(config, train, validation, workdir, train_file, val_file, fingerprint)
                assert run.model_dir is not None
                model_dir, trials = run.model_dir, []
            model = self._load_detached(model_dir, keep=not own_workdir)
        finally:
            if own_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        metrics = {k: float(v) for k, v in model.metadata.metrics.items()}
        hyper = dict(model.metadata.hyperparameters)
        timings = {"fit_s": time.perf_counter() - start,
                   "train_s": float(model.metadata.extra.get("fit_s", 0.0))}
        return TrainResult(model=model, metrics=metrics, hyperparameters=hyper, timings=timings,
                           trials=trials, backend="cnn")

    def _single(self, config: TrainConfig, train: Dataset, validation: Dataset | None, workdir: Path,
                train_file: Path, val_file: Path | None, fingerprint: str | None) -> TrialRun:
        from asl_recognition import progress

        with progress.task(f"cnn {config.arch}", total=config.epochs) as task:

            def on_epoch(epoch: int, logs: dict[str, float]) -> bool:
                task.advance(1, **{k: round(v, 4) for k, v in logs.items()})
                if self._tracking is not None:
                    self._tracking.log_metrics(logs, step=epoch)  # PRIMARY_METRIC among them
                return False

            if self.in_process:
                val = (validation.images, validation.labels) if validation is not None else None
                return run_in_process(config, (train.images, train.labels), val,
                                      output_dir=workdir / "model", on_epoch=on_epoch,
                                      data_fingerprint=fingerprint)
            return run_subprocess(config, train_file, val_file, output_dir=workdir / "model",
                                  on_epoch=on_epoch, data_fingerprint=fingerprint)

    @staticmethod
    def _load_detached(model_dir: Path, *, keep: bool) -> TrainedModel:
        model = load_model(model_dir)
        if hasattr(model, "onnx_bytes"):
            _ = model.onnx_bytes  # read everything into memory before the directory goes
        if not keep:
            model.source_dir = None
        return model
