"""The conformance checks themselves, as plain functions and as a pytest mixin."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.errors import AslRecognitionError
from asl_recognition.models import TrainedModel, load_model
from asl_recognition.testing._synthetic import synthetic_dataset
from asl_recognition.trainers.base import Trainer, TrainResult

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["CHECKS", "HELD_OUT_PER_LETTER", "LEARNS_MARGIN", "TrainerConformance", "check_trainer"]

TrainerFactory = Callable[[], Trainer]

#: How far above chance a backend's accuracy on held-out synthetic data must be (absolute
#: accuracy): chance is the share of the most common letter there, the best a model predicting
#: one letter can score (1/24 on the default data, so the bar is about 0.54).
LEARNS_MARGIN = 0.5
#: Images per letter of the default held-out set of :func:`check_learns` (never seen by ``fit``).
HELD_OUT_PER_LETTER = 5


class _Context:
    """Shared state for one backend's checks: the data and one cached fit."""

    def __init__(self, factory: TrainerFactory, train: Dataset, validation: Dataset, held_out: Dataset) -> None:
        self.factory = factory
        self.train = train
        self.validation = validation
        self.held_out = held_out
        self._result: TrainResult | None = None
        # the inputs as they were before any fit, for check_does_not_mutate_input
        self.pristine = tuple(a.copy() for a in self._inputs())

    def _inputs(self) -> tuple[Any, ...]:
        return self.train.images, self.train.labels, self.validation.images, self.validation.labels

    def fit(self, seed: int = 0) -> TrainResult:
        return self.factory().fit(self.train, validation=self.validation, seed=seed)

    @property
    def result(self) -> TrainResult:
        if self._result is None:
            self._result = self.fit(seed=0)
        return self._result


def check_fit_returns_result(ctx: _Context) -> None:
    """``fit`` returns a TrainResult holding a TrainedModel and validation metrics."""
    result = ctx.result
    assert isinstance(result, TrainResult), f"fit returned {type(result).__name__}, not TrainResult"
    assert isinstance(result.model, TrainedModel), "TrainResult.model is not a TrainedModel"
    acc = result.metrics.get("validation_accuracy")
    assert isinstance(acc, float) and 0.0 <= acc <= 1.0, (
        f"metrics['validation_accuracy'] must be a float in [0, 1] when validation is given, got {acc!r}"
    )


def check_learns(ctx: _Context) -> None:
    """On held-out data (never given to ``fit``) the accuracy beats chance by :data:`LEARNS_MARGIN`.

    Chance is the share of the held-out set's most common letter: what a model that always
    answers one letter scores at best, and more than a model guessing letters at random expects.
    """
    labels = ctx.held_out.labels
    predicted = ctx.result.model.predict(ctx.held_out.images)
    accuracy = float((predicted == labels).mean())
    chance = float(np.bincount(labels).max() / len(labels))
    required = chance + LEARNS_MARGIN
    assert accuracy >= required, (
        f"accuracy {accuracy:.3f} on {len(labels)} held-out images is not at least chance ({chance:.3f}) "
        f"+ {LEARNS_MARGIN} = {required:.3f}: the backend does not learn the synthetic letters"
    )


def check_predicts_valid_letters(ctx: _Context) -> None:
    """Predictions are label ids the training data contains (never 9/J or 25/Z)."""
    model = ctx.result.model
    predicted = model.predict(ctx.validation.images)
    assert predicted.shape == (len(ctx.validation),), f"predict returned shape {predicted.shape}"
    allowed = set(VALID_LABELS) & set(np.unique(ctx.train.labels).tolist())
    stray = set(predicted.tolist()) - allowed
    assert not stray, f"predicted labels outside the training letters: {sorted(stray)}"
    assert set(model.labels) <= set(VALID_LABELS), f"model.labels has invalid ids: {model.labels}"
    assert len(model.letters) == len(model.labels)


def check_probabilities(ctx: _Context) -> None:
    """``predict_proba`` is (N, classes), non-negative, rows sum to 1, argmax == predict."""
    model = ctx.result.model
    proba = model.predict_proba(ctx.validation.images)
    assert proba.shape == (len(ctx.validation), len(model.labels)), f"shape {proba.shape}"
    assert np.isfinite(proba).all() and (proba >= -1e-6).all(), "probabilities must be finite and >= 0"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4, err_msg="rows must sum to 1")
    expected = np.asarray(model.labels)[proba.argmax(axis=1)]
    np.testing.assert_array_equal(model.predict(ctx.validation.images), expected)


def check_input_layouts(ctx: _Context) -> None:
    """(N, 28, 28) and (N, 784) inputs give the same probabilities."""
    model = ctx.result.model
    images = ctx.validation.images[:8]
    np.testing.assert_allclose(
        model.predict_proba(images), model.predict_proba(images.reshape(len(images), 784)), atol=1e-6
    )


def check_save_load_round_trip(ctx: _Context) -> None:
    """save + load_model gives identical predictions (probabilities within 1e-5)."""
    model = ctx.result.model
    with tempfile.TemporaryDirectory() as tmp:
        saved = model.save(Path(tmp) / "model")
        loaded = load_model(saved)
        assert loaded.labels == model.labels, "labels changed in the round trip"
        np.testing.assert_array_equal(loaded.predict(ctx.validation.images), model.predict(ctx.validation.images))
        np.testing.assert_allclose(
            loaded.predict_proba(ctx.validation.images), model.predict_proba(ctx.validation.images), atol=1e-5
        )


def check_does_not_mutate_input(ctx: _Context) -> None:
    """``fit`` leaves the training and validation arrays untouched (checked after the shared fit)."""
    ctx.result  # noqa: B018 - the shared fit, run now if no other check ran it yet
    for b, a in zip(ctx.pristine, ctx._inputs(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg="fit mutated its input data")


def check_same_seed_same_result(ctx: _Context) -> None:
    """Two fits with the same seed predict the same labels (probabilities within 1e-4)."""
    first = ctx.result.model
    second = ctx.fit(seed=0).model
    np.testing.assert_array_equal(
        first.predict(ctx.validation.images), second.predict(ctx.validation.images),
        err_msg="same seed gave different predictions",
    )
    np.testing.assert_allclose(
        first.predict_proba(ctx.validation.images), second.predict_proba(ctx.validation.images), atol=1e-4
    )


def check_failed_save_leaves_nothing(ctx: _Context) -> None:
    """A save that fails midway leaves the previous model intact and no temporary files."""
    model = ctx.result.model
    original = model._save_files

    def failing(directory: Path) -> Any:
        original(directory)
        raise OSError("simulated disk failure")

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model"
        model.save(target)
        before = sorted(p.relative_to(target) for p in target.rglob("*"))
        model._save_files = failing  # type: ignore[method-assign]
        try:
            with contextlib.suppress(OSError):
                model.save(target)
                raise AssertionError("save did not propagate the failure")
        finally:
            del model._save_files
        assert sorted(p.relative_to(target) for p in target.rglob("*")) == before, "previous model changed"
        leftovers = [p.name for p in Path(tmp).iterdir() if p.name != "model"]
        assert not leftovers, f"failed save left files behind: {leftovers}"
        load_model(target)  # still loadable


def check_rejects_invalid_input(ctx: _Context) -> None:
    """NaN pixels, wrong shapes and out-of-range values raise AslRecognitionError."""
    model = ctx.result.model
    bad_inputs = [
        np.full((1, 28, 28), np.nan),
        np.zeros((1, 27, 27)),
        np.full((1, 784), 300.0),
        np.full((1, 784), -1.0),
        [["x"] * 784],
    ]
    for bad in bad_inputs:
        try:
            model.predict(bad)
        except AslRecognitionError:
            continue
        raise AssertionError(f"predict accepted invalid input {np.asarray(bad).shape}")


CHECKS: dict[str, Callable[[_Context], None]] = {
    f.__name__.removeprefix("check_"): f
    for f in (
        check_fit_returns_result,
        check_learns,
        check_predicts_valid_letters,
        check_probabilities,
        check_input_layouts,
        check_save_load_round_trip,
        check_does_not_mutate_input,
        check_same_seed_same_result,
        check_failed_save_leaves_nothing,
        check_rejects_invalid_input,
    )
}


def _default_data(n_per_letter: int) -> tuple[Dataset, Dataset, Dataset]:
    """Synthetic training, validation and held-out sets (seeds 0, 1, 2: distinct noise)."""
    train = synthetic_dataset(n_per_letter, seed=0, name="synthetic-train")
    validation = synthetic_dataset(max(2, n_per_letter // 3), seed=1, name="synthetic-validation")
    held_out = synthetic_dataset(HELD_OUT_PER_LETTER, seed=2, name="synthetic-held-out")
    return train, validation, held_out


def check_trainer(
    factory: TrainerFactory,
    *,
    train: Dataset | None = None,
    validation: Dataset | None = None,
    held_out: Dataset | None = None,
    n_per_letter: int = 12,
    skip: tuple[str, ...] = (),
) -> None:
    """Run every conformance check on the backend built by ``factory``.

    Args:
        factory: zero-argument callable returning a fresh, configured trainer.
        train, validation: data to use (default: small synthetic datasets).
        held_out: data never given to ``fit``, for :func:`check_learns` (default: a synthetic
            set of :data:`HELD_OUT_PER_LETTER` images per letter, with its own noise; with
            your own ``train`` and ``validation`` and no ``held_out``, ``validation``).
        n_per_letter: size of the default synthetic training set per letter.
        skip: names from :data:`CHECKS` to skip (say why in your test).

    Raises:
        AssertionError: ``"conformance check '<name>' failed: ..."`` for the first failure.
    """
    if train is None or validation is None:
        train, validation, default_held_out = _default_data(n_per_letter)
        held_out = held_out if held_out is not None else default_held_out
    ctx = _Context(factory, train, validation, held_out if held_out is not None else validation)
    for name, check in CHECKS.items():
        if name in skip:
            continue
        try:
            check(ctx)
        except AssertionError as exc:
            raise AssertionError(f"conformance check {name!r} failed: {exc}") from exc


class TrainerConformance:
    """pytest mixin: subclass it, implement :meth:`make_trainer`, get one test per check.

    The fit is shared between the checks of one class (cached on the class), so a slow backend
    trains three times in all: once for most checks, once each for the mutation and seed checks.
    """

    n_per_letter: ClassVar[int] = 12
    skip_checks: ClassVar[tuple[str, ...]] = ()
    _ctx_cache: ClassVar[dict[type, _Context]] = {}

    def make_trainer(self) -> Trainer:
        """Return a fresh trainer configured for a quick fit on tiny data."""
        raise NotImplementedError

    def _ctx(self) -> _Context:
        cls = type(self)
        if cls not in TrainerConformance._ctx_cache:
            train, validation, held_out = _default_data(cls.n_per_letter)
            TrainerConformance._ctx_cache[cls] = _Context(self.make_trainer, train, validation, held_out)
        return TrainerConformance._ctx_cache[cls]

    def _run(self, name: str) -> None:
        if name in type(self).skip_checks:
            import pytest

            pytest.skip(f"{type(self).__name__} skips the {name!r} check")
        CHECKS[name](self._ctx())

    def test_fit_returns_result(self) -> None:
        """See :func:`check_fit_returns_result`."""
        self._run("fit_returns_result")

    def test_learns(self) -> None:
        """See :func:`check_learns`."""
        self._run("learns")

    def test_predicts_valid_letters(self) -> None:
        """See :func:`check_predicts_valid_letters`."""
        self._run("predicts_valid_letters")

    def test_probabilities(self) -> None:
        """See :func:`check_probabilities`."""
        self._run("probabilities")

    def test_input_layouts(self) -> None:
        """See :func:`check_input_layouts`."""
        self._run("input_layouts")

    def test_save_load_round_trip(self) -> None:
        """See :func:`check_save_load_round_trip`."""
        self._run("save_load_round_trip")

    def test_does_not_mutate_input(self) -> None:
        """See :func:`check_does_not_mutate_input`."""
        self._run("does_not_mutate_input")

    def test_same_seed_same_result(self) -> None:
        """See :func:`check_same_seed_same_result`."""
        self._run("same_seed_same_result")

    def test_failed_save_leaves_nothing(self) -> None:
        """See :func:`check_failed_save_leaves_nothing`."""
        self._run("failed_save_leaves_nothing")

    def test_rejects_invalid_input(self) -> None:
        """See :func:`check_rejects_invalid_input`."""
        self._run("rejects_invalid_input")
