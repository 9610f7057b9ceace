"""Comparator on the real test file with real sklearn models, real photos and a full report."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from asl_recognition.compare import Comparator
from asl_recognition.trainers.base import get_trainer

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_compare_sklearn_models_on_the_test_file(real_train, real_test, dev_photo_cache: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos_dir = dev_photo_cache  # the dev photos, their hands observed once for the session
    # small, quick models: a stratified-enough random slice of the training file
    idx = np.random.default_rng(0).choice(len(real_train), size=2000, replace=False)
    train = real_train.subset(np.sort(idx))
    t0 = time.perf_counter()
    results = {
        "logistic": get_trainer("sklearn", estimator="logistic", max_iter=40).fit(train, seed=0),
        "knn": get_trainer("sklearn", estimator="knn").fit(train, seed=0),
    }
    fit_s = time.perf_counter() - t0
    start = time.perf_counter()
    result = Comparator(
        real_test,
        bootstrap_samples=200,
        robustness_subsample=400,
        photos_dir=photos_dir,
        latency_repeats=3,
    ).evaluate(results, validation={"logistic": 0.9})
    elapsed = time.perf_counter() - start

    assert result.n_test == len(real_test) == 7172
    n_photos = sum(1 for p in photos_dir.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    for m in result.models:
        pred = results[m.name].model.predict(real_test.images)
        assert m.accuracy == pytest.approx(float((pred == real_test.labels).mean()))
        assert 0.3 < m.accuracy < 1.0  # far above chance (1/24) on the honest test file
        assert sum(map(sum, m.confusion)) == 7172
        assert m.photos is not None
        assert m.photos.n == n_photos
        assert len(m.robustness) == 7
        assert m.mean_corruption_accuracy is not None
        assert m.mean_corruption_accuracy < m.robustness_clean_accuracy  # type: ignore[operator]
        assert m.training_time_s is not None
    assert result.model("logistic").validation_gap == pytest.approx(0.9 - result.model("logistic").accuracy)
    # with photos the winner rule is the photo rule (photo accuracy, test accuracy >= 0.995)
    assert result.winner_rule.metric == "photo_accuracy"
    assert result.ranking == result.winner_rule.rank([m.criteria() for m in result.models])
    for m in result.models:
        assert m.photos is not None
        assert sum(g["n"] for g in m.photos.per_person.values()) == n_photos
        assert len(m.photos.per_person) >= 2  # the dev set's SOURCES.tsv names several persons
    assert result.pair("logistic", "knn") is not None

    start = time.perf_counter()
    out = result.write_report(tmp_path / "report")
    report_s = time.perf_counter() - start
    data = json.loads((out / "result.json").read_text())
    assert data["winner"] == result.winner
    assert (out / "report.html").stat().st_size > 50_000
    assert (out / "plots" / "photos_confusion_knn.png").is_file()
    print(f"fit {fit_s:.1f} s; evaluate (2 models, 7172 images) {elapsed:.1f} s; report {report_s:.1f} s")
