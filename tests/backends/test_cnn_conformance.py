"""The shipped conformance suite over the Keras CNN backend (both architectures)."""

from __future__ import annotations

import pytest

from asl_recognition import get_trainer
from asl_recognition.testing import TrainerConformance
from asl_recognition.trainers.base import Trainer

pytestmark = pytest.mark.keras


class TestCnnSmall(TrainerConformance):
    """The default network, trained in this process for a few short epochs.

    Without augmentation: the synthetic letters are bars at letter-specific rows and columns,
    which the default shifts and zooms would move onto other letters' positions.
    """

    n_per_letter = 6

    def make_trainer(self) -> Trainer:
        return get_trainer("cnn", epochs=3, batch_size=16, augment=False, threads=1, in_process=True)


@pytest.mark.slow
class TestCnnSeedSubprocess(TrainerConformance):
    """The seed network through the default path: the training script in a subprocess."""

    n_per_letter = 6

    def make_trainer(self) -> Trainer:
        # the seed's own optimiser settings (conf/trainer/cnn_seed.yaml), enough steps to learn
        return get_trainer("cnn", arch="seed", epochs=5, batch_size=16, hidden=32, augment=False, threads=1,
                           optimizer="adam", learning_rate=0.003, schedule="constant", label_smoothing=0.0)
