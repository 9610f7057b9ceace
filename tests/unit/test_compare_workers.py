"""The Comparator's per-model predictions in worker processes give the in-process result."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from asl_recognition.compare import Comparator
from asl_recognition.models import TrainedModel
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.base import get_trainer

FAST = {"bootstrap_samples": 50, "latency_repeats": 1, "batch_size": 16,
        "corruptions": {"noise": [8, 64], "rotation": [10]}, "robustness_subsample": 60}  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TrainedModel]:
    train = synthetic_dataset(8, seed=0)
    root = tmp_path_factory.mktemp("models")
    models = {}
    for key, params in {"lr": {"max_iter": 50}, "svm": {"estimator": "svm", "pca_components": 20}}.items():
        model = get_trainer("sklearn", **params).fit(train, seed=0).model
        model.save(root / key)
        models[key] = model
    return models


def test_workers_give_the_in_process_comparison(saved: dict[str, TrainedModel],
                                                caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="asl_recognition")
    test = synthetic_dataset(3, seed=5)
    here = Comparator(test, **FAST, workers=1).evaluate(saved)
    there = Comparator(test, **FAST, workers=2).evaluate(saved)
    assert there.winner == here.winner
    assert there.settings["workers"] == 2
    for a, b in zip(here.models, there.models, strict=True):
        assert (a.name, a.accuracy, a.confusion, a.per_letter_recall) == (
            b.name,
            b.accuracy,
            b.confusion,
            b.per_letter_recall,
        )
        assert a.robustness == b.robustness and a.robustness_n == b.robustness_n == 60
        assert a.robustness_clean_accuracy == b.robustness_clean_accuracy
        assert a.accuracy_bootstrap_ci == b.accuracy_bootstrap_ci
    assert [p.p_value for p in here.pairwise] == [p.p_value for p in there.pairwise]
    # the workers' progress reached this process's log, named by model
    assert any(r.getMessage().startswith("[svm] predicting svm") for r in caplog.records)


def test_unsaved_models_predict_in_this_process(saved: dict[str, TrainedModel], tmp_path: Path) -> None:
    unsaved = get_trainer("sklearn", max_iter=30).fit(synthetic_dataset(4, seed=1), seed=0).model
    assert unsaved.source_dir is None
    result = Comparator(synthetic_dataset(2, seed=6), **FAST, workers=2).evaluate({**saved, "fresh": unsaved})
    assert {m.name for m in result.models} == {"lr", "svm", "fresh"}
    assert all(m.robustness for m in result.models)


def test_bad_workers_value_is_named() -> None:
    from asl_recognition.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'workers' must be None, -1 or an integer >= 1, got 0"):
        Comparator(synthetic_dataset(1, seed=0), workers=0)
