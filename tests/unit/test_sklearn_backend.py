from __future__ import annotations

import numpy as np
import pytest

from asl_recognition import get_trainer
from asl_recognition.errors import InvalidParameterError, NotFoundError, TrainingError
from asl_recognition.testing import synthetic_dataset


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"C": -1}, "'C' must be > 0, got -1"),
        ({"C": 0}, "'C' must be > 0"),
        ({"estimator": "svn"}, "'estimator' must be one of logistic, svm, random_forest, knn"),
        ({"preprocessing": "zscore"}, "'preprocessing' must be one of"),
        ({"pca_components": 0}, "'pca_components' must be None or 1..784"),
        ({"pca_components": 785}, "'pca_components' must be None or 1..784"),
        ({"gamma": "wide"}, "'gamma' must be"),
        ({"max_iter": 0}, "'max_iter' must be an integer >= 1"),
        ({"n_jobs": 0}, "'n_jobs' must be None"),
        ({"alpha": 1}, "no parameter 'alpha'"),
    ],
)
def test_constructor_validates(params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message.replace("(", r"\(").replace(".", r"\.")):
        get_trainer("sklearn", **params)


@pytest.mark.parametrize("estimator", ["logistic", "svm", "random_forest", "knn"])
def test_every_estimator_learns_synthetic_letters(estimator: str) -> None:
    train = synthetic_dataset(10, seed=0)
    val = synthetic_dataset(4, seed=1)
    params: dict[str, object] = {"estimator": estimator}
    if estimator in ("svm", "knn"):
        params["pca_components"] = 20
    if estimator == "random_forest":
        params["n_estimators"] = 50
    result = get_trainer("sklearn", **params).fit(train, validation=val, seed=0)
    assert result.metrics["validation_accuracy"] > 0.8
    assert result.timings["fit_s"] > 0
    assert result.hyperparameters["estimator"] == estimator
    assert result.model.metadata.data_fingerprint == train.fingerprint


def test_single_letter_training_set_is_rejected() -> None:
    with pytest.raises(TrainingError, match="at least two letters"):
        get_trainer("sklearn").fit(synthetic_dataset(5, labels=(3,)))


def test_model_predicts_only_trained_letters() -> None:
    train = synthetic_dataset(8, labels=(0, 1, 2))
    model = get_trainer("sklearn").fit(train).model
    assert model.letters == ("A", "B", "C")
    assert set(model.predict(synthetic_dataset(3).images).tolist()) <= {0, 1, 2}
    assert model.predict_proba(np.zeros((0, 784))).shape == (0, 3)


def test_unknown_model_type_error_lists_types() -> None:
    from asl_recognition.model import model_types

    with pytest.raises(NotFoundError, match="available: .*onnx.*sklearn"):
        model_types.get("tensorflow-lite")
