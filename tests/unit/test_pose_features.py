"""Hand-pose features (``preprocessing: landmarks``): geometry, pipeline, saving, missing models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asl_recognition import get_trainer, load_model
from asl_recognition.errors import ConfigurationError
from asl_recognition.photo.pose_features import N_FEATURES, HandLandmarkFeatures, pose_features
from asl_recognition.testing import synthetic_dataset


def test_features_ignore_position_and_size_but_keep_rotation() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 28, (1, 21, 2))
    base = pose_features(pts, np.array([0.9]))
    moved = pose_features(pts * 0.5 + 3.0, np.array([0.9]))  # shifted and half the size
    np.testing.assert_allclose(moved, base, atol=1e-5)
    turned = pose_features(pts[:, :, ::-1], np.array([0.9]))  # transposed: another orientation
    assert np.abs(turned - base).max() > 0.1
    assert base.shape == (1, N_FEATURES) and base[0, -1] == pytest.approx(0.9)


def test_degenerate_pose_stays_finite() -> None:
    assert np.isfinite(pose_features(np.zeros((2, 21, 2)), np.zeros(2))).all()


def test_landmark_pipeline_trains_saves_and_reloads(tmp_path: Path) -> None:
    train = synthetic_dataset(4, seed=0)
    trainer = get_trainer("sklearn", estimator="random_forest", preprocessing="landmarks", n_estimators=10)
    model = trainer.fit(train).model
    assert model.metadata.preprocessing["steps"][0] == "preprocess"
    features = HandLandmarkFeatures().transform(train.images.reshape(len(train), -1))
    assert features.shape == (len(train), N_FEATURES) and np.isfinite(features).all()
    loaded = load_model(model.save(tmp_path / "pose"))  # the transformer is on skops' allow-list
    np.testing.assert_allclose(loaded.predict_proba(train.images[:10]), model.predict_proba(train.images[:10]))


def test_missing_hand_models_give_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASL_HAND_MODELS", "off")
    with pytest.raises(ConfigurationError, match="install-hand-models"):
        HandLandmarkFeatures().transform(np.zeros((1, 784)))
