"""The local AutoML engine (FLAML over scikit-learn pipelines) on tiny synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from asl_recognition.errors import InvalidParameterError, MissingDependencyError
from asl_recognition.testing import synthetic_dataset, synthetic_images

try:
    import flaml.automl  # noqa: F401
except ImportError:  # pragma: no cover - CI installs the automl extra
    pytest.skip('needs FLAML: pip install "asl-recognition[automl]"', allow_module_level=True)


def test_search_explores_families_and_preprocessing_and_returns_a_safe_pipeline() -> None:
    from asl_recognition.models.sklearn import HogFeatures, PerImageNormalizer, PixelScaler
    from asl_recognition.trainers._automl_local import search

    rng = np.random.default_rng(0)
    y, y_val = rng.choice([0, 1, 2, 3], 120), rng.choice([0, 1, 2, 3], 60)
    # heavy noise: no candidate is perfect, so the search keeps trying other families
    x, x_val = synthetic_images(y, seed=0, noise=400.0), synthetic_images(y_val, seed=1, noise=400.0)
    found = search(
        x,
        y,
        x_val,
        y_val,
        time_budget_s=60,
        families=("svc", "logistic", "knn"),
        max_iterations=8,
        seed=0,
        min_sample_size=50,
    )
    learners = {t.params["learner"] for t in found.trials}
    assert len(learners) >= 2 and learners <= {"svc", "logistic", "knn"}
    assert {t.params["preprocessing"] for t in found.trials} <= {"hog", "per_image", "scale"}
    assert found.trials[0].params["preprocessing"] == "hog"  # the search starts from HOG features
    assert found.family in learners and 0.0 <= found.validation_accuracy <= 1.0
    assert isinstance(found.pipeline.steps[0][1], (HogFeatures, PerImageNormalizer, PixelScaler))
    assert np.allclose(found.pipeline.predict_proba(x_val.reshape(len(x_val), -1)).sum(axis=1), 1.0)


def test_trainer_saves_with_skops_and_reloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from asl_recognition.models import load_model
    from asl_recognition.trainers.base import get_trainer

    train, val = synthetic_dataset(8, seed=0), synthetic_dataset(3, seed=1)
    result = get_trainer("automl", time_budget_s=60, max_iterations=3, families=["svc", "logistic"]).fit(
        train, validation=val, seed=0
    )
    assert result.backend == "automl" and result.trials
    assert result.metrics["validation_accuracy"] == pytest.approx(
        float((result.model.predict(val.images) == val.labels).mean())
    )
    saved = result.model.save(tmp_path / "m")
    assert (saved / "model.skops").is_file()
    again = load_model(saved)
    np.testing.assert_array_equal(again.predict(val.images), result.model.predict(val.images))


def test_refit_full_reports_the_search_score() -> None:
    from asl_recognition.trainers._automl import AutoMLTrainer

    train, val = synthetic_dataset(8, seed=0), synthetic_dataset(3, seed=1)
    result = AutoMLTrainer(time_budget_s=60, max_iterations=2, families=["logistic"], refit_full=True).fit(
        train, validation=val, seed=0
    )
    assert result.hyperparameters["refit_full"] is True
    assert result.metrics["validation_accuracy"] == pytest.approx(max(t.value or 0 for t in result.trials))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"compute": "cloud"}, "'compute'"),
        ({"time_budget_s": 0}, "time_budget_s"),
        ({"families": ["svm"]}, "families"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_constructor_validates(params: dict[str, object], match: str) -> None:
    from asl_recognition.trainers.base import get_trainer

    with pytest.raises(InvalidParameterError, match=match):
        get_trainer("automl", **params)


def test_missing_flaml_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from asl_recognition.trainers import _automl_local

    monkeypatch.setitem(sys.modules, "flaml.automl.model", None)
    with pytest.raises(MissingDependencyError, match=r"asl-recognition\[automl\]"):
        _automl_local._learner_classes()
