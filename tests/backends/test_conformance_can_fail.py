"""The conformance suite must fail a backend that does not learn, whatever else it gets right.

Two stand-in backends pass every other check (valid letters, probabilities, layouts, save/load,
seeds, atomic saves, input validation) and fail only ``learns``: one always answers the same
letter, one answers a random letter per image (seeded by the image's bytes, so it is
reproducible, round-trips and agrees across input layouts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pytest

from asl_recognition import ModelMetadata, TrainedModel, TrainResult, register_model_type
from asl_recognition.testing import CHECKS, LEARNS_MARGIN, check_trainer
from asl_recognition.trainers.base import validation_metrics

if TYPE_CHECKING:
    from asl_recognition.data import Dataset


class _Stub(TrainedModel):
    """A model without weights: what it predicts depends on the subclass only."""

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        return {}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> _Stub:
        return cls(metadata=metadata)


@register_model_type("test-one-letter")
class OneLetterModel(_Stub):
    """Always the first training letter (probability 0.9, the rest shared)."""

    model_type = "test-one-letter"

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        k = len(self.labels)
        proba = np.full((len(images), k), 0.1 / (k - 1))
        proba[:, 0] = 0.9
        return proba


@register_model_type("test-random-letters")
class RandomLettersModel(_Stub):
    """A random probability row per image, seeded by the image's pixels."""

    model_type = "test-random-letters"

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        rows = []
        for image in images:
            seed = int.from_bytes(hashlib.sha256(image.tobytes()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).dirichlet(np.ones(len(self.labels))))
        return np.asarray(rows)


class StubTrainer:
    """A backend whose ``fit`` looks at the labels only and returns a stub model."""

    def __init__(self, model_type: type[_Stub]) -> None:
        self.model_type = model_type

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        labels = tuple(int(x) for x in np.unique(train.labels))
        meta = ModelMetadata.create(model_type=self.model_type.model_type, backend="test-stub", labels=labels)
        model = self.model_type(metadata=meta)
        metrics = validation_metrics(model, validation)
        model.metadata.metrics.update(metrics)
        return TrainResult(model=model, metrics=metrics, timings={"fit_s": 0.0}, backend="test-stub")


@pytest.mark.parametrize("model_type", [OneLetterModel, RandomLettersModel])
def test_a_backend_that_does_not_learn_fails_only_the_learns_check(model_type: type[_Stub]) -> None:
    check_trainer(lambda: StubTrainer(model_type), skip=("learns",))  # every other check passes
    with pytest.raises(AssertionError, match="conformance check 'learns' failed: accuracy 0.0"):
        check_trainer(lambda: StubTrainer(model_type))


def test_the_learns_check_states_its_bar() -> None:
    assert "learns" in CHECKS and LEARNS_MARGIN == 0.5
    with pytest.raises(AssertionError, match=r"chance \(0.042\) \+ 0.5 = 0.542"):
        check_trainer(lambda: StubTrainer(OneLetterModel))
