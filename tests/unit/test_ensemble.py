"""Product of experts: the combination rule, saving/loading, the trainer, and the main job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asl_recognition import load_model
from asl_recognition.errors import ConfigurationError, InvalidParameterError, ModelFormatError
from asl_recognition.job import JobData, run_job
from asl_recognition.models.product import FLOOR, ProductModel, combine_probabilities
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers._product import ProductTrainer
from asl_recognition.trainers.base import get_trainer


@pytest.fixture(scope="module")
def members() -> dict[str, object]:
    train = synthetic_dataset(6, seed=0)
    logistic = get_trainer("sklearn", estimator="logistic", max_iter=200).fit(train).model
    forest = get_trainer("sklearn", estimator="random_forest", n_estimators=20).fit(train, seed=1).model
    return {"logistic": logistic, "forest": forest}


def test_combination_is_the_normalised_product_with_a_floor() -> None:
    a = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    b = np.array([[0.2, 0.6, 0.2], [0.0, 0.0, 1.0]])
    out = combine_probabilities([a, b])
    np.testing.assert_allclose(out[0], np.array([0.10, 0.18, 0.04]) / 0.32)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    # each expert vetoes the other's only letter: the floor leaves a tie between them, not NaN
    assert np.isfinite(out).all() and out[1, 0] == pytest.approx(out[1, 2]) == pytest.approx(0.5)
    assert out[1, 1] == pytest.approx(FLOOR / 2)


def test_product_model_predicts_the_product_and_survives_saving(members: dict[str, object], tmp_path: Path) -> None:
    model = ProductModel(members)  # type: ignore[arg-type]
    images = synthetic_dataset(2, seed=5).images
    parts = model.member_probabilities(images)
    np.testing.assert_allclose(model.predict_proba(images), combine_probabilities(list(parts.values())), rtol=1e-6)
    saved = model.save(tmp_path / "product")
    loaded = load_model(saved)
    assert isinstance(loaded, ProductModel) and set(loaded.members) == {"logistic", "forest"}
    np.testing.assert_allclose(loaded.predict_proba(images), model.predict_proba(images), rtol=1e-6)
    assert loaded.metadata.hyperparameters == {"members": {"logistic": "sklearn", "forest": "sklearn"}}


def test_product_model_refuses_bad_members(members: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="at least two"):
        ProductModel({"one": members["logistic"]})  # type: ignore[dict-item]
    with pytest.raises(InvalidParameterError, match="member names"):
        ProductModel({"../x": members["logistic"], "y": members["forest"]})  # type: ignore[dict-item]
    few = synthetic_dataset(4, seed=0).subset(np.flatnonzero(synthetic_dataset(4, seed=0).labels < 5))
    other = get_trainer("sklearn", estimator="logistic", max_iter=100).fit(few).model
    with pytest.raises(ModelFormatError, match="different labels"):
        ProductModel({"a": members["logistic"], "b": other})  # type: ignore[dict-item]
    # a saved product whose member folder was removed fails to load with a clear error
    saved = ProductModel(members).save(tmp_path / "p")  # type: ignore[arg-type]
    (saved / "members" / "forest" / "asl_model.json").unlink()
    with pytest.raises(ModelFormatError, match="forest"):
        load_model(saved)


def test_trainer_trains_its_members_and_reports_validation() -> None:
    trainer = ProductTrainer(members={
        "logistic": {"name": "sklearn", "params": {"estimator": "logistic", "max_iter": 200}},
        "knn": {"name": "sklearn", "params": {"estimator": "knn", "pca_components": None}},
    })  # fmt: skip
    result = trainer.fit(synthetic_dataset(6, seed=0), validation=synthetic_dataset(2, seed=3))
    assert isinstance(result.model, ProductModel) and result.backend == "product"
    assert 0.5 < result.metrics["validation_accuracy"] <= 1.0
    assert {"logistic_fit_s", "knn_fit_s", "fit_s"} <= set(result.timings)
    with pytest.raises(InvalidParameterError, match="member 'b' must be"):
        ProductTrainer(members={"a": {"name": "sklearn"}, "b": 3})
    with pytest.raises(InvalidParameterError, match="at least two"):
        ProductTrainer(members={"a": {"name": "sklearn"}})
    with pytest.raises(InvalidParameterError):
        ProductTrainer(members={"a": {"name": "sklearn", "params": {"C": -1}}, "b": {"name": "sklearn"}})


def test_main_job_combines_earlier_trainers_models(tmp_path: Path) -> None:
    fit = synthetic_dataset(6, seed=0)
    data = JobData(train=fit, fit=fit, validation=synthetic_dataset(2, seed=1), test=synthetic_dataset(2, seed=2))
    cfg = {"seed": 0, "report": False, "compare": {"bootstrap_samples": 50, "corruptions": {}}, "trainer": {
        "lr": {"name": "sklearn", "params": {"estimator": "logistic", "max_iter": 200}},
        "rf": {"name": "sklearn", "params": {"estimator": "random_forest", "n_estimators": 20}},
        "both": {"name": "product", "params": {"members": ["lr", "rf"]}},
    }}  # fmt: skip
    result = run_job(cfg, output_dir=tmp_path, data=data)
    both = load_model(result.model_dirs["both"])
    assert isinstance(both, ProductModel)
    parts = [load_model(result.model_dirs[k]).predict_proba(data.test.images) for k in ("lr", "rf")]
    expected = combine_probabilities(parts)
    np.testing.assert_allclose(both.predict_proba(data.test.images), expected, rtol=1e-5)
    assert {e.name for e in result.comparison.models} == {"lr", "rf", "both"}
    assert result.comparison.model("both").validation_accuracy is not None
    # a member refit on the whole training file has seen the validation rows: no product validation
    cfg["trainer"]["rf"]["refit"] = True
    refit = run_job(cfg, output_dir=tmp_path / "refit", data=data)
    assert "validation_accuracy" not in refit.results["both"].metrics
    cfg["trainer"] = {"both": cfg["trainer"]["both"], **{k: v for k, v in cfg["trainer"].items() if k != "both"}}
    with pytest.raises(ConfigurationError, match="listed before it"):
        run_job(cfg, output_dir=tmp_path / "again", data=data)
