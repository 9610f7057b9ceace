from __future__ import annotations

import re

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
        ({"pca_components": 0}, "'pca_components' must be None or an integer in 1..784"),
        ({"pca_components": 785}, "'pca_components' must be None or an integer in 1..784"),
        (
            {"preprocessing": "hog", "pca_components": 400},
            "'pca_components' must be None or an integer in 1..324 (the 'hog' features)",
        ),
        ({"gamma": "wide"}, "'gamma' must be"),
        ({"max_iter": 0}, "'max_iter' must be an integer >= 1"),
        ({"n_jobs": 0}, "'n_jobs' must be None"),
        ({"alpha": 1}, "no parameter 'alpha'"),
    ],
)
def test_constructor_validates(params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
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
    from asl_recognition.models import model_types

    with pytest.raises(NotFoundError, match="available: .*onnx.*sklearn"):
        model_types.get("tensorflow-lite")


def test_hog_features_describe_edges_not_brightness() -> None:
    from asl_recognition.models.sklearn import HogFeatures

    images = synthetic_dataset(2, seed=0).images.reshape(-1, 784).astype(np.float32)
    hog = HogFeatures()
    feats = hog.fit(images).transform(images)
    assert feats.shape == (len(images), hog.n_features) == (len(images), 324)
    assert feats.dtype == np.float32 and np.all(np.isfinite(feats))
    # block normalisation: a brighter, higher-contrast copy has (almost) the same descriptor
    brighter = np.clip(images * 0.6 + 80, 0, 255)
    assert np.abs(hog.transform(brighter) - feats).max() < 0.05
    # and different images have different descriptors
    assert np.abs(feats[0] - feats[1]).max() > 0.05


def test_hog_svm_learns_saves_and_reloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from asl_recognition import load_model

    train, val = synthetic_dataset(10, seed=0), synthetic_dataset(4, seed=1)
    result = get_trainer("sklearn", estimator="svm", preprocessing="hog", pca_components=None).fit(
        train, validation=val, seed=0
    )
    # synthetic letters are blobs, not hands: HOG is far above chance (1/24) but not perfect here
    assert result.metrics["validation_accuracy"] > 0.5
    assert result.model.metadata.preprocessing["steps"][0] == "preprocess"
    reloaded = load_model(result.model.save(tmp_path / "hog"))
    np.testing.assert_allclose(reloaded.predict_proba(val.images), result.model.predict_proba(val.images))
