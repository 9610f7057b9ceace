"""The shipped conformance suite over the Keras CNN backend (both architectures)."""

from __future__ import annotations

import pytest

from asl_recognition import get_trainer
from asl_recognition.testing import TrainerConformance
from asl_recognition.trainers.base import Trainer

pytestmark = pytest.mark.keras


class TestCnnSmall(TrainerConformance):
    """The default network, trained in this process for one short epoch."""

    n_per_letter = 6

    def make_trainer(self) -> Trainer:
        return get_trainer("cnn", epochs=1, batch_size=64, threads=1, in_process=True)


@pytest.mark.slow
class TestCnnSeedSubprocess(TrainerConformance):
    """The seed network through the default path: the training script in a subprocess."""

    n_per_letter = 6

    def make_trainer(self) -> Trainer:
        return get_trainer("cnn", arch="seed", epochs=1, hidden=32, augment=False, threads=1)
