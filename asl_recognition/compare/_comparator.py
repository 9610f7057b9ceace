"""The :class:`Comparator`: evaluates several trained models on one test set."""

from __future__ import annotations

import datetime as _dt
import itertools
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from asl_recognition import progress
from asl_recognition._validation import Interval, Options, check_param
from asl_recognition._workers import resolve_workers
from asl_recognition.compare._costs import measure_costs
from asl_recognition.compare._metrics import (
    confusion_matrix,
    f1_from_confusion,
    per_label_recall,
    wilson_interval,
)
from asl_recognition.compare._predictions import EvaluationInputs, ModelPredictions, predict_models, robustness_batches
from asl_recognition.compare._result import ComparisonResult, ModelEvaluation, PairwiseTest
from asl_recognition.compare._robustness import DEFAULT_CORRUPTIONS, validate_corruptions
from asl_recognition.compare._stats import bootstrap_metrics, holm, mcnemar_exact, percentile_ci
from asl_recognition.compare._winner import PHOTOS_WINNER_RULE, WinnerRule
from asl_recognition.data.letters import VALID_LABELS, VALID_LETTERS, label_to_letter
from asl_recognition.errors import InvalidParameterError
from asl_recognition.models import TrainedModel
from asl_recognition.trainers.base import TrainResult

if TYPE_CHECKING:
    from asl_recognition.compare._photos import PhotoSet

__all__ = ["REPORT_FORMATS", "Comparator", "LabelledImages"]

logger = logging.getLogger(__name__)

REPORT_FORMATS: tuple[str, ...] = ("md", "json", "png", "html")


class LabelledImages(Protocol):
    """What the Comparator needs of a test set (a :class:`~asl_recognition.data.Dataset`)."""

    @property
    def images(self) -> npt.NDArray[Any]:
        """(N, 28, 28) pixels in 0..255."""
        ...

    @property
    def labels(self) -> npt.NDArray[Any]:
        """(N,) label ids."""
        ...


def _positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    return int(check_param(name, value, Interval(int, minimum, None)))


class Comparator:
    """Compare trained models on a held-out test set.

    Every model predicts the test set once; accuracy (95% Wilson interval and seeded bootstrap
    intervals), macro-F1, per-letter recall, the confusion matrix, McNemar tests between every
    pair, robustness and photo accuracy all reuse those predictions or shared, precomputed
    inputs.

    Args:
        test_dataset: a :class:`~asl_recognition.data.Dataset` (anything with ``images``
            ``(N, 28, 28)`` and ``labels`` ``(N,)``; ``name`` is used when present). Use the
            official test file: it is the only honest held-out set.
        winner_rule: a :class:`WinnerRule`, a primary criterion name (``"accuracy"``,
            ``"macro_f1"``, ``"robustness"``, ``"photo_accuracy"``, ...), or a mapping with
            ``metric``/``tie_breakers``/``tolerance``/``constraints``. Default: accuracy, ties
            broken by size then single-image latency. Used with photos too, unless
            ``photos_winner_rule`` is given.
        photos_winner_rule: the rule when ``photos_dir`` is given (same forms). Default (and
            when neither rule is given): :data:`~asl_recognition.compare.PHOTOS_WINNER_RULE`,
            the highest photo accuracy among models with test accuracy >= 0.995, then size,
            then latency.
        bootstrap_samples: resamples for bootstrap intervals (0 turns bootstrapping off).
        seed: seeds the bootstrap, the robustness subsample and the corruptions.
        alpha: significance level for the McNemar tests.
        robustness: False turns the robustness evaluation off, whatever ``corruptions`` says
            (``compare.robustness=false`` on the command line, where Hydra would merge an empty
            ``corruptions`` mapping into the configured one instead of replacing it).
        corruptions: ``{name: (parameter per severity level, ...)}``; ``None`` uses
            :data:`~asl_recognition.compare.DEFAULT_CORRUPTIONS`; an empty mapping turns the
            robustness evaluation off.
        robustness_subsample: evaluate corruptions on this many test images drawn at random
            (seeded, the same images for every model and corruption) for speed; ``None`` uses
            the whole test set.
        robustness_budget_s: seconds a model's corrupted-image predictions may take, estimated
            from its time on the test set: a slower model is evaluated on evenly spaced images
            of the robustness sample that fit (at least
            :data:`~asl_recognition.compare._predictions.MIN_ROBUSTNESS_IMAGES`), and the report
            names its image count. ``None``: every model on the whole sample.
        photos_dir: a folder of labelled photos ``<LETTER>/*.jpg|jpeg|png`` (optionally with
            ``SOURCES.tsv``'s ``person``/``source`` columns) to evaluate on too. Each photo's hand
            is observed once and the observation is shared by every model (photo-native models
            read its landmarks, the others its 28x28 crop); accuracy is reported per person and
            per source with Wilson intervals.
        latency_repeats: timed repeats per latency measurement (after one warm-up call).
        batch_size: batch size for the batch latency and memory measurements.
        report_formats: what :meth:`ComparisonResult.write_report` writes by default
            (subset of ``md``, ``json``, ``png``, ``html``).
        workers: predict with this many models at once, each in a worker process that loads
            it from its saved directory (-1: one per core; None or 1: one after the other in
            this process; unsaved models always predict here). Sizes, latencies and memory are
            measured afterwards in this process, one model at a time; only ``predict_all_s``
            (the whole test file's prediction time) is timed in the worker, beside the others.

    >>> Comparator(object())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: test_dataset must have 'images' ... got object
    """

    def __init__(
        self,
        test_dataset: LabelledImages,
        *,
        winner_rule: WinnerRule | str | Mapping[str, Any] | None = None,
        photos_winner_rule: WinnerRule | str | Mapping[str, Any] | None = None,
        bootstrap_samples: int = 1000,
        seed: int = 0,
        alpha: float = 0.05,
        robustness: bool = True,
        corruptions: Mapping[str, Sequence[float]] | None = None,
        robustness_subsample: int | None = 2000,
        robustness_budget_s: float | None = None,
        photos_dir: str | os.PathLike[str] | None = None,
        latency_repeats: int = 5,
        batch_size: int = 256,
        report_formats: Sequence[str] = REPORT_FORMATS,
        workers: int | None = None,
    ) -> None:
        self.images, self.labels = self._validate_dataset(test_dataset)
        self.dataset_name = str(getattr(test_dataset, "name", "") or "test")
        self.bootstrap_samples = _positive_int("bootstrap_samples", bootstrap_samples, minimum=0)
        self.seed = _positive_int("seed", seed, minimum=0)
        check_param("alpha", alpha, Interval(float, 0, 1, closed="neither"))
        self.alpha = float(alpha)
        check_param("robustness", robustness, Options([True, False]))
        self.corruptions = validate_corruptions(DEFAULT_CORRUPTIONS if corruptions is None else corruptions)
        if not robustness:
            self.corruptions = {}
        if robustness_subsample is not None:
            _positive_int("robustness_subsample", robustness_subsample)
        self.robustness_subsample = robustness_subsample
        check_param("robustness_budget_s", robustness_budget_s, None, Interval(float, 0, None, closed="neither"))
        self.robustness_budget_s = None if robustness_budget_s is None else float(robustness_budget_s)
        if photos_dir is not None and not Path(photos_dir).is_dir():
            raise InvalidParameterError(f"photos_dir {str(photos_dir)!r} is not a directory")
        self.photos_dir = None if photos_dir is None else Path(photos_dir)
        rule = WinnerRule.parse(winner_rule)
        photos_rule = None if photos_winner_rule is None else WinnerRule.parse(photos_winner_rule)
        if self.photos_dir is None:
            self.winner_rule = rule
        else:
            self.winner_rule = photos_rule or (PHOTOS_WINNER_RULE if winner_rule is None else rule)
        self.latency_repeats = _positive_int("latency_repeats", latency_repeats)
        self.batch_size = _positive_int("batch_size", batch_size)
        bad = [f for f in report_formats if f not in REPORT_FORMATS]
        if bad:
            raise InvalidParameterError(f"unknown report format(s) {bad}; available: {', '.join(REPORT_FORMATS)}")
        self.report_formats = tuple(report_formats)
        self.workers = check_param("workers", workers, None, Options([-1]), Interval(int, 1, None))

    @classmethod
    def from_config(cls, test_dataset: LabelledImages, config: Mapping[str, Any]) -> Comparator:
        """Build from a mapping shaped like ``conf/compare/default.yaml`` (keys = options)."""
        import inspect

        accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "test_dataset"}
        unknown = sorted(set(config) - accepted)
        if unknown:
            raise InvalidParameterError(
                f"compare config has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"accepted: {', '.join(sorted(accepted))}"
            )
        options: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in config.items()}
        if isinstance(options.get("report_formats"), list | tuple):
            options["report_formats"] = tuple(options["report_formats"])
        return cls(test_dataset, **options)

    # -- validation ------------------------------------------------------------------------------
    @staticmethod
    def _validate_dataset(ds: object) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        images = getattr(ds, "images", None)
        labels = getattr(ds, "labels", None)
        if images is None or labels is None:
            raise InvalidParameterError(
                f"test_dataset must have 'images' (N, 28, 28) and 'labels' (N,) arrays, got {type(ds).__name__}"
            )
        imgs = np.asarray(images)
        labs = np.asarray(labels)
        if imgs.ndim != 3 or imgs.shape[1:] != (28, 28):
            raise InvalidParameterError(f"test_dataset images must have shape (N, 28, 28), got {imgs.shape}")
        if len(imgs) == 0:
            raise InvalidParameterError("test_dataset is empty")
        if labs.shape != (len(imgs),) or not np.issubdtype(labs.dtype, np.integer):
            raise InvalidParameterError(
                f"test_dataset labels must be {len(imgs)} integers, got shape {labs.shape} of {labs.dtype}"
            )
        bad = sorted(set(np.unique(labs).tolist()) - set(VALID_LABELS))
        if bad:
            raise InvalidParameterError(f"test_dataset has invalid labels {bad[:5]} (valid: 0-24 except 9)")
        if imgs.min() < 0 or imgs.max() > 255:
            raise InvalidParameterError("test_dataset images must hold pixel values in 0..255")
        return imgs.astype(np.uint8, copy=False), labs.astype(np.int64, copy=False)

    def _unpack(
        self,
        models: Mapping[str, TrainedModel | TrainResult],
        validation: Mapping[str, float | TrainResult] | None,
    ) -> list[tuple[str, TrainedModel, TrainResult | None, float | None]]:
        if not isinstance(models, Mapping) or not models:
            raise InvalidParameterError("evaluate() needs a non-empty mapping {name: trained model}")
        validation = dict(validation or {})
        unknown = sorted(set(validation) - set(models))
        if unknown:
            raise InvalidParameterError(f"validation accuracies given for unknown model(s) {unknown}")
        out = []
        present = set(np.unique(self.labels).tolist())
        for name, value in models.items():
            if not isinstance(name, str) or not name.strip():
                raise InvalidParameterError(f"model names must be non-empty strings, got {name!r}")
            train_result = value if isinstance(value, TrainResult) else None
            model = value.model if isinstance(value, TrainResult) else value
            if not isinstance(model, TrainedModel):
                raise InvalidParameterError(
                    f"model {name!r} is a {type(value).__name__}, not a TrainedModel or TrainResult"
                )
            outside = sorted(set(model.labels) - set(VALID_LABELS))
            if outside:
                raise InvalidParameterError(
                    f"model {name!r} predicts labels {outside} that are not letters of the "
                    "test set "
                    "(valid: 0-24 except 9)"
                )
            missing = sorted(present - set(model.labels))
            if missing:
                logger.warning(
                    "model %r cannot predict letters %s present in the test set; they count as errors",
                    name,
                    "".join(label_to_letter(x) for x in missing),
                )
            out.append(
                (
                    name,
                    model,
                    train_result,
                    self._validation_accuracy(name, model, train_result, validation.get(name)),
                )
            )
        return out

    @staticmethod
    def _validation_accuracy(
        name: str,
        model: TrainedModel,
        result: TrainResult | None,
        explicit: float | TrainResult | None,
    ) -> float | None:
        candidates: list[Any] = []
        if isinstance(explicit, TrainResult):
            candidates.append(explicit.metrics.get("validation_accuracy"))
        elif explicit is not None:
            candidates.append(explicit)
        if result is not None:
            candidates.append(result.metrics.get("validation_accuracy"))
        candidates.append(model.metadata.metrics.get("validation_accuracy"))
        for value in candidates:
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise InvalidParameterError(
                    f"validation accuracy of model {name!r} must be a number in 0..1, got {value!r}"
                )
            return float(value)
        return None

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(
        self,
        models: Mapping[str, TrainedModel | TrainResult],
        *,
        validation: Mapping[str, float | TrainResult] | None = None,
    ) -> ComparisonResult:
        """Evaluate ``models`` (``{name: TrainedModel or TrainResult}``) and rank them.

        Args:
            models: the models; a :class:`TrainResult` also contributes its validation metrics,
                training timings and sweep trials.
            validation: explicit validation accuracies (or TrainResults) by model name; they take
                precedence over the metrics stored with the models.
        """
        entries = self._unpack(models, validation)
        photos = self._load_photos()
        inputs = self._inputs(photos)
        evaluations: list[ModelEvaluation] = []
        correctness: dict[str, npt.NDArray[np.bool_]] = {}
        with progress.task("comparing models", total=len(entries)) as overall:
            predictions = predict_models([(name, model) for name, model, _, _ in entries], inputs,
                                         workers=resolve_workers(self.workers, len(entries)),
                                         done=lambda name: overall.advance())  # fmt: skip
        with progress.task("measuring costs (size, latency, memory)", total=len(entries)) as costs:
            for name, model, train_result, val_acc in entries:
                costs.update(model=name)
                evaluation, correct = self._evaluate_one(name, model, train_result, val_acc, predictions[name],
                                                         robustness_n=predictions[name].robustness_n)  # fmt: skip
                evaluations.append(evaluation)
                correctness[name] = correct
                costs.advance()
        pairwise = self._pairwise(correctness)
        ranking = self.winner_rule.rank([e.criteria() for e in evaluations])
        result = ComparisonResult(
            dataset=self.dataset_name,
            n_test=len(self.labels),
            letters=list(VALID_LETTERS),
            models=evaluations,
            ranking=ranking,
            winner_rule=self.winner_rule,
            pairwise=pairwise,
            settings=self._settings(photos),
            created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        )
        logger.info("winner: %s (%s)", result.winner, self.winner_rule.describe())
        if result.winner_note:
            logger.warning("%s", result.winner_note)
        return result

    def _settings(self, photos: PhotoSet | None) -> dict[str, Any]:
        return {
            "confidence": 0.95,
            "alpha": self.alpha,
            "bootstrap_samples": self.bootstrap_samples,
            "seed": self.seed,
            "corruptions": {k: list(v) for k, v in self.corruptions.items()},
            "robustness_subsample": self.robustness_subsample,
            "robustness_budget_s": self.robustness_budget_s,
            "photos_dir": None if self.photos_dir is None else str(self.photos_dir),
            "photos_n": None if photos is None else len(photos),
            "photos_persons": None if photos is None else len(photos.dataset.person_ids),
            "photos_hands_found": None if photos is None else int(photos.found.sum()),
            "latency_repeats": self.latency_repeats,
            "batch_size": self.batch_size,
            "report_formats": list(self.report_formats),
            "workers": self.workers,
        }

    def _evaluate_one(
        self,
        name: str,
        model: TrainedModel,
        result: TrainResult | None,
        val_acc: float | None,
        predictions: ModelPredictions,
        *,
        robustness_n: int,
    ) -> tuple[ModelEvaluation, npt.NDArray[np.bool_]]:
        pred = predictions.predicted
        correct = pred == self.labels
        cm = confusion_matrix(self.labels, pred)
        n_correct = int(correct.sum())
        accuracy = n_correct / len(correct)
        acc_boot = f1_boot = None
        if self.bootstrap_samples:
            accs, f1s = bootstrap_metrics(self.labels, pred, samples=self.bootstrap_samples, seed=self.seed)
            acc_boot, f1_boot = percentile_ci(accs), percentile_ci(f1s)
        costs = measure_costs(model, self.images, repeats=self.latency_repeats, batch_size=self.batch_size)
        timings = dict(result.timings) if result is not None else {}
        training_time = timings.get("fit_s", timings.get("total_s"))
        trials = [t.to_dict() for t in result.trials] if result is not None else []
        if not trials and isinstance(model.metadata.extra.get("trials"), list):
            trials = [dict(t) for t in model.metadata.extra["trials"] if isinstance(t, Mapping)]
        hyper = dict(result.hyperparameters) if result is not None and result.hyperparameters else {}
        evaluation = ModelEvaluation(
            name=name,
            backend=(result.backend if result is not None and result.backend else model.metadata.backend),
            n_test=len(correct),
            accuracy=accuracy,
            accuracy_ci=wilson_interval(n_correct, len(correct)),
            macro_f1=float(f1_from_confusion(cm)),
            per_letter_recall=dict(zip(VALID_LETTERS, per_label_recall(cm), strict=True)),
            confusion=cm.tolist(),
            size_bytes=costs.size_bytes,
            latency_single_ms=costs.latency_single_ms,
            latency_batch_ms=costs.latency_batch_ms,
            batch_size=costs.batch_size,
            throughput_ips=costs.throughput_ips,
            predict_all_s=predictions.predict_all_s,
            peak_python_bytes=costs.peak_python_bytes,
            rss_delta_bytes=costs.rss_delta_bytes,
            accuracy_bootstrap_ci=acc_boot,
            macro_f1_bootstrap_ci=f1_boot,
            validation_accuracy=val_acc,
            validation_gap=None if val_acc is None else val_acc - accuracy,
            training_time_s=None if training_time is None else float(training_time),
            timings={k: float(v) for k, v in timings.items()},
            hyperparameters=hyper or dict(model.metadata.hyperparameters),
            trials=trials,
        )
        evaluation.photos = predictions.photos
        if predictions.robustness:
            evaluation.robustness_n = robustness_n
            evaluation.robustness_clean_accuracy = predictions.robustness_clean_accuracy
            evaluation.robustness = {k: list(v) for k, v in predictions.robustness.items()}
            accuracies = [a for values in predictions.robustness.values() for a in values]
            evaluation.mean_corruption_accuracy = float(np.mean(accuracies))
        logger.info("%s: test accuracy %.4f, macro-F1 %.4f", name, accuracy, evaluation.macro_f1)
        return evaluation, correct

    def _load_photos(self) -> PhotoSet | None:
        """The photo folder, listed and observed once for every model (None without one)."""
        if self.photos_dir is None:
            return None
        from asl_recognition.compare._photos import load_photo_set

        return load_photo_set(self.photos_dir, cache=True)

    def _inputs(self, photos: PhotoSet | None) -> EvaluationInputs:
        """What every model predicts; each corrupted batch is built once, shared by all models."""
        n = len(self.labels)
        if self.robustness_subsample is not None and self.robustness_subsample < n:
            rng = np.random.default_rng([self.seed, 1])
            idx = np.sort(rng.choice(n, size=self.robustness_subsample, replace=False))
        else:
            idx = np.arange(n)
        robust_images = self.images[idx] if self.corruptions else self.images[:0]
        with progress.task("corrupting the robustness sample", total=None):
            corrupted = robustness_batches(robust_images, self.corruptions, seed=self.seed)
        return EvaluationInputs(self.images, self.labels, robust_images, self.labels[idx] if self.corruptions
                                else self.labels[:0], corrupted, photos, self.robustness_budget_s)  # fmt: skip

    @staticmethod
    def _pairwise(correctness: Mapping[str, npt.NDArray[np.bool_]]) -> list[PairwiseTest]:
        tests = [
            (a, b, mcnemar_exact(correctness[a], correctness[b])) for a, b in itertools.combinations(correctness, 2)
        ]
        adjusted = holm([t.p_value for _, _, t in tests])
        return [
            PairwiseTest(a, b, t.a_only, t.b_only, t.p_value, p_holm)
            for (a, b, t), p_holm in zip(tests, adjusted, strict=True)
        ]
