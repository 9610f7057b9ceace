"""The shipped conformance suite over the product-of-experts backend (two quick sklearn members)."""

from __future__ import annotations

from asl_recognition import get_trainer
from asl_recognition.testing import TrainerConformance
from asl_recognition.trainers.base import Trainer

MEMBERS = {
    "knn": {"name": "sklearn", "params": {"estimator": "knn", "pca_components": 10}},
    "forest": {"name": "sklearn", "params": {"estimator": "random_forest", "n_estimators": 20, "pca_components": 10}},
}


class TestProductOfTwoSklearnMembers(TrainerConformance):
    def make_trainer(self) -> Trainer:
        return get_trainer("product", members=MEMBERS)
