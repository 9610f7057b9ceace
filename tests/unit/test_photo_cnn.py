"""The CNN backend's opt-in photo_augment option trains on augmented batches."""

from __future__ import annotations

import numpy as np
import pytest

from asl_recognition.errors import InvalidParameterError
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.cnn.config import TrainConfig


def test_photo_augment_is_a_validated_option_off_by_default() -> None:
    assert TrainConfig().photo_augment is False
    assert "--photo_augment" in TrainConfig(photo_augment=True).to_args()
    with pytest.raises(InvalidParameterError, match="photo_augment"):
        TrainConfig(photo_augment="yes")  # type: ignore[arg-type]


@pytest.mark.keras
def test_training_with_photo_augment_runs() -> None:
    from asl_recognition.trainers.cnn.train import train

    train_ds = synthetic_dataset(24, labels=[0, 1, 2], seed=0)
    config = TrainConfig(epochs=3, batch_size=24, threads=1, photo_augment=True, learning_rate=3e-3)
    outcome = train(config, (train_ds.images, train_ds.labels), (train_ds.images, train_ds.labels))
    assert len(outcome.history) == 3
    assert outcome.labels == (0, 1, 2)
    # the inference network holds no augmentation layer and predicts on raw pixels
    assert all("augment" not in layer.name for layer in outcome.network.layers)
    probs = np.asarray(outcome.network.predict(train_ds.images[:4].astype(np.float32), verbose=0))
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
