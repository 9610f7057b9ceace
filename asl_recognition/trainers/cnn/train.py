"""THE CNN training script, run unchanged locally, by the local sweep and on Azure HyperDrive.

Usage (as a module or as a file path)::

    python -m asl_recognition.trainers.cnn.train --data DIR_OR_FILE --output_dir outputs/model \\
        [--epochs 8 --batch_size 128 --hidden 128 --dropout 0.3 --arch small ...]

``--data`` is a directory holding ``sign_mnist_train.csv`` (an Azure mount), a Sign MNIST CSV or
an ``.npz`` with ``images``/``labels``. Without ``--validation`` a leak-free split of
``--validation_fraction`` of the data is held out for the primary metric. The model is saved in
the ``TrainedModel`` format into ``--output_dir``. After every epoch the script logs
``PRIMARY_METRIC`` with MLflow when ``MLFLOW_TRACKING_URI`` is set (Azure ML jobs set it: SDK
v2 sweeps and, with azureml-mlflow, v1 HyperDrive read it there), else to the Azure ML v1 run,
and appends a JSON line to ``--metrics_file`` (the hook the local sweep reads to prune trials).

Determinism: ``--seed`` goes to ``keras.utils.set_random_seed`` (Python, NumPy and the backend),
which also seeds the augmentation layer, the shuffling and the weight initialisation. On one
machine with the same thread count and backend, a run repeats exactly (the conformance suite
checks it). Results differ across thread counts and CPU types (oneDNN picks kernels per CPU and
parallel reductions sum in a different order), between the TensorFlow and torch backends, and
on GPUs; ``--deterministic true`` additionally calls
``tf.config.experimental.enable_op_determinism()`` (slower). In a sweep with several concurrent
trials each trial is repeatable, but which sampled configuration gets which trial number depends
on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

if __name__ == "__main__" and __package__ in (None, ""):  # run as a file path
    # keep this directory's module names (metrics, train, ...) from shadowing real packages
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import AslRecognitionError, InvalidParameterError
from asl_recognition.models import ModelMetadata
from asl_recognition.models._keras_env import configure_threads, import_keras
from asl_recognition.trainers.cnn import _data
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
from asl_recognition.trainers.cnn.precision import dtype_policy, float32_copy, resolve_precision

__all__ = ["EpochHook", "TrainOutcome", "build_metadata", "main", "train"]

logger = logging.getLogger(__name__)

#: runs with at most this many optimizer steps in all run eagerly (no graph tracing)
_EAGER_MAX_STEPS = 24
#: images per batch when only evaluating (validation)
_EVAL_BATCH = 512

#: called after each epoch with (epoch starting at 1, logs); returning True stops training
EpochHook = Callable[[int, dict[str, float]], bool]


@dataclasses.dataclass
class TrainOutcome:
    """What :func:`train` returns: the inference network and how it got there."""

    network: Any
    labels: tuple[int, ...]
    history: list[dict[str, float]]
    metrics: dict[str, float]
    fit_s: float
    stopped_early: bool
    precision: str = "float32"


def _optimizer(keras: Any, config: TrainConfig, steps_per_epoch: int) -> Any:
    lr: Any = config.learning_rate
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        warmup = min(round(config.warmup_epochs * steps_per_epoch), total - 1)
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else config.learning_rate,
            decay_steps=max(total - warmup, 1),
            warmup_target=config.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(learning_rate=lr)


def train(
    config: TrainConfig,
    train_data: _data.Arrays,
    validation: _data.Arrays | None = None,
    *,
    on_epoch: EpochHook | None = None,
) -> TrainOutcome:
    """Train the network ``config`` describes in this process and return it.

    Args:
        config: hyperparameters.
        train_data: ``(images uint8 (N, 28, 28), labels (N,))``.
        validation: optional held-out ``(images, labels)``; its accuracy is ``PRIMARY_METRIC``.
        on_epoch: per-epoch hook (reporting, pruning); returning True stops training.
    """
    from asl_recognition.trainers.cnn.architectures import build_model
    from asl_recognition.trainers.cnn.augment import make_augmentation

    keras = import_keras(config.backend)
    configure_threads(config.backend, config.threads)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic and config.backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    images, labels = train_data
    classes = tuple(int(x) for x in np.unique(labels))
    if len(classes) < 2:
        raise InvalidParameterError(f"training data must hold at least 2 labels, got {list(classes)}")

    def encode(lab: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        idx = np.searchsorted(classes, lab)
        if np.any(idx >= len(classes)) or np.any(np.asarray(classes)[np.minimum(idx, len(classes) - 1)] != lab):
            unseen = sorted(set(lab.tolist()) - set(classes))
            raise InvalidParameterError(f"validation labels {unseen} do not occur in the training data")
        return np.eye(len(classes), dtype=np.float32)[idx]

    x = np.asarray(images, dtype=np.float32)
    y = encode(np.asarray(labels))
    val = None
    if validation is not None and len(validation[0]):
        val = (np.asarray(validation[0], dtype=np.float32), encode(np.asarray(validation[1])))

    def build() -> Any:
        return build_model(keras, config.arch, num_classes=len(classes), hidden=config.hidden,
                           dropout=config.dropout)

    precision = resolve_precision(config.precision, config.backend)
    with dtype_policy(keras, precision):
        network = build()
    if config.augment and not config.photo_augment:
        augment = make_augmentation(keras, seed=config.seed, scale=config.augment_strength)
        trainer_net = keras.Sequential([keras.Input(shape=x.shape[1:]), augment, network])
    else:
        trainer_net = network
    steps = math.ceil(len(x) / config.batch_size)
    trainer_net.compile(
        optimizer=_optimizer(keras, config, steps),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        # tracing a graph costs seconds; for a handful of steps (tests, smoke runs) eager wins
        run_eagerly=steps * config.epochs <= _EAGER_MAX_STEPS,
    )
    history: list[dict[str, float]] = []
    stopped = False

    class _Hook(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            nonlocal stopped
            entry = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float, np.number))}
            entry["epoch_s"] = round(time.perf_counter() - self._t0, 3)
            history.append(entry)
            logger.debug("epoch %d/%d: %s", epoch + 1, config.epochs, entry)
            if on_epoch is not None and on_epoch(epoch + 1, entry):
                stopped = True
                self.model.stop_training = True

    start = time.perf_counter()
    if config.photo_augment:  # fresh "real conditions" batches each epoch (asl_recognition.photo)
        from asl_recognition.photo.keras_data import photo_batches

        batches = photo_batches(keras, np.asarray(images), np.asarray(labels), y,
                                batch_size=config.batch_size, seed=config.seed)
        trainer_net.fit(batches, epochs=config.epochs, validation_data=val, callbacks=[_Hook()], verbose=0)
    else:
        trainer_net.fit(**_fit_inputs(config, x, y, val), epochs=config.epochs, callbacks=[_Hook()], verbose=0)
    if precision != "float32":  # deploy float32 weights in a float32 network
        network = float32_copy(keras, network, build)
    if config.recalibrate_bn and history:
        from asl_recognition.trainers.cnn.batchnorm import recalibrate_batch_norm

        recalibrate_batch_norm(keras, network, x, seed=config.seed)
    fit_s = time.perf_counter() - start
    metrics = {"train_accuracy": history[-1].get("accuracy", float("nan"))} if history else {}
    if val is not None and history:
        # the deployed network's score (after re-estimation); the per-epoch history keeps the
        # values the tuner saw during training
        metrics["validation_accuracy"] = _accuracy(network, val)
    return TrainOutcome(network, classes, history, metrics, fit_s, stopped, precision)


def _fit_inputs(
    config: TrainConfig,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    val: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None,
) -> dict[str, Any]:
    """``fit`` keyword arguments for the data: a seeded, reshuffled ``tf.data`` pipeline on
    TensorFlow, the arrays elsewhere.

    Keras' own adapter for NumPy arrays on TensorFlow made every other epoch of the default
    network slower and idled after the last epoch (measured in ``docs/measurements.md``).
    """
    if config.backend != "tensorflow":
        return {"x": x, "y": y, "batch_size": config.batch_size, "validation_data": val, "shuffle": True}
    import tensorflow as tf

    train = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .prefetch(2)
    )
    val_data = tf.data.Dataset.from_tensor_slices(val).batch(_EVAL_BATCH) if val is not None else None
    return {"x": train, "validation_data": val_data, "shuffle": False}  # the pipeline shuffles itself


def _accuracy(network: Any, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]) -> float:
    proba = network.predict(data[0], batch_size=_EVAL_BATCH, verbose=0)
    return float(np.mean(np.argmax(proba, axis=1) == np.argmax(data[1], axis=1)))


def build_metadata(
    config: TrainConfig, outcome: TrainOutcome, *, data_fingerprint: str | None = None
) -> ModelMetadata:
    """The ``asl_model.json`` content of a trained CNN."""
    from asl_recognition.models.keras import ONNX_SPEC

    return ModelMetadata.create(
        model_type="keras",
        backend="cnn",
        labels=outcome.labels,
        preprocessing={"input": "float32 (N, 28, 28) pixels 0..255", "inside_graph": "x / 255"},
        metrics=dict(outcome.metrics),
        hyperparameters=config.to_dict(),
        data_fingerprint=data_fingerprint,
        extra={
            "keras_backend": config.backend,
            "onnx": dict(ONNX_SPEC),
            "parameters": int(outcome.network.count_params()),
            "history": outcome.history,
            "fit_s": round(outcome.fit_s, 3),
            "stopped_early": outcome.stopped_early,
            "training_precision": outcome.precision,
        },
    )


# -- script -------------------------------------------------------------------------------------


class _RunLogger:
    """Logs metrics to MLflow (the run of an Azure ML job, SDK v2 or v1 with azureml-mlflow, or any
    store ``MLFLOW_TRACKING_URI`` names), else to the Azure ML v1 run, and as JSON lines to a
    file if asked (what the local sweep reads)."""

    def __init__(self, metrics_file: str | None) -> None:
        self._file = Path(metrics_file) if metrics_file else None
        self._run: Any = None
        self._mlflow: Any = None
        self._steps: dict[str, int] = {}
        if os.environ.get("MLFLOW_TRACKING_URI"):  # set in Azure ML jobs; locally only if the user sets it
            try:
                import mlflow
            except ImportError:
                logger.warning("MLFLOW_TRACKING_URI is set but mlflow is not installed; metrics not logged there")
            else:
                # an Azure ML job's environment names the job's run (MLFLOW_RUN_ID): attach to it
                if mlflow.active_run() is None:
                    mlflow.start_run(run_id=os.environ.get("MLFLOW_RUN_ID") or None)
                self._mlflow = mlflow
        if self._mlflow is None and os.environ.get("AZUREML_RUN_ID"):  # v1 job without azureml-mlflow
            from azureml.core import Run

            run = Run.get_context()
            if not str(getattr(run, "id", "")).startswith("OfflineRun"):
                self._run = run

    def event(self, **fields: Any) -> None:
        if self._file is not None:
            with self._file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(fields) + "\n")
                fh.flush()

    def log(self, name: str, value: float) -> None:
        step = self._steps.get(name, 0)
        self._steps[name] = step + 1
        if self._mlflow is not None:
            self._mlflow.log_metric(name, float(value), step=step)
        elif self._run is not None:
            self._run.log(name, value)


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false/1/0), got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (one option per :class:`TrainConfig` field, plus I/O options)."""
    p = argparse.ArgumentParser(prog="python -m asl_recognition.trainers.cnn.train",
                                description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--data", required=True, help="dir with sign_mnist_train.csv, a CSV, or .npz")
    p.add_argument("--validation", default=None, help="held-out CSV/.npz (default: split --data)")
    p.add_argument("--validation_fraction", type=float, default=0.2,
                   help="leak-free fraction held out when --validation is absent (0: none)")
    p.add_argument("--output_dir", default="outputs/model", help="model directory to write")
    p.add_argument("--metrics_file", default=None, help="append per-epoch JSON lines here")
    p.add_argument("--data_fingerprint", default=None, help="recorded in the model metadata")
    p.add_argument("--log_level", default="INFO")
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        value = getattr(defaults, f.name)
        kind: Callable[[str], Any] = (
            _bool if isinstance(value, bool) else type(value) if value is not None else int
        )
        p.add_argument(f"--{f.name}", type=kind, default=value)
    return p


@contextlib.contextmanager
def _progress(total: int, title: str) -> Iterator[Callable[[dict[str, float]], None]]:
    try:
        from asl_recognition import progress
    except ImportError:
        yield lambda logs: None
        return
    with progress.task(title, total=total) as task:
        yield lambda logs: task.advance(1, **{k: round(v, 4) for k, v in logs.items()})


def run(args: argparse.Namespace) -> Path:
    """Run the script with parsed ``args``; return the model directory."""
    config = TrainConfig(**{f: getattr(args, f) for f in TrainConfig.fields()})
    log = _RunLogger(args.metrics_file)
    images, labels = _data.load_arrays(args.data)
    if args.validation:
        train_data, validation = (images, labels), _data.load_arrays(args.validation)
    elif args.validation_fraction > 0:
        train_data, validation = _data.split_validation(
            images, labels, fraction=args.validation_fraction, seed=config.seed)
    else:
        train_data, validation = (images, labels), None
    logger.info("training %s CNN on %d images (%s validation images), %s backend", config.arch,
                len(train_data[0]), len(validation[0]) if validation else "no", config.backend)
    log.event(event="start", params=config.to_dict(), n_train=len(train_data[0]))

    with _progress(config.epochs, f"cnn {config.arch}") as advance:

        def on_epoch(epoch: int, logs: dict[str, float]) -> bool:
            advance(logs)
            log.event(event="epoch", epoch=epoch, **logs)
            if PRIMARY_METRIC in logs:
                log.log(PRIMARY_METRIC, logs[PRIMARY_METRIC])
            logger.info("epoch %d/%d %s", epoch, config.epochs,
                        " ".join(f"{k}={v:.4f}" for k, v in logs.items()))
            return False

        outcome = train(config, train_data, validation, on_epoch=on_epoch)

    from asl_recognition.models.keras import KerasModel

    model = KerasModel(metadata=build_metadata(config, outcome, data_fingerprint=args.data_fingerprint),
                       network=outcome.network)
    out = model.save(args.output_dir)
    if "validation_accuracy" in outcome.metrics:
        log.log(PRIMARY_METRIC, outcome.metrics["validation_accuracy"])  # final value
    log.event(event="done", metrics=outcome.metrics, fit_s=outcome.fit_s, output_dir=str(out))
    logger.info("saved %s (%.0f s training, metrics %s)", out, outcome.fit_s, outcome.metrics)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Script entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        run(args)
    except AslRecognitionError as exc:
        logger.error("%s: %s", type(exc).__name__, exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
