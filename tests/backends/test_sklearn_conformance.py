"""The shipped conformance suite over the sklearn backend's estimators."""

from __future__ import annotations

from asl_recognition import get_trainer
from asl_recognition.testing import TrainerConformance, check_trainer
from asl_recognition.trainers.base import Trainer


class TestSklearnLogistic(TrainerConformance):
    def make_trainer(self) -> Trainer:
        return get_trainer("sklearn", max_iter=100)


class TestSklearnSvm(TrainerConformance):
    def make_trainer(self) -> Trainer:
        return get_trainer("sklearn", estimator="svm", pca_components=20)


def test_check_trainer_function_runs_all_checks() -> None:
    check_trainer(lambda: get_trainer("sklearn", estimator="knn", pca_components=10))


def test_conformance_detects_a_broken_backend() -> None:
    """The suite must be able to fail: a trainer whose model ignores the seed is caught."""
    import numpy as np
    import pytest

    from asl_recognition.trainers._sklearn import SklearnTrainer

    class Unseeded(SklearnTrainer):
        def fit(self, train, *, validation=None, seed=0):  # type: ignore[no-untyped-def]
            return super().fit(train, validation=validation, seed=int(np.random.randint(1_000_000)))

    with pytest.raises(AssertionError, match="conformance check 'same_seed_same_result' failed"):
        check_trainer(lambda: Unseeded(estimator="random_forest", n_estimators=5))
