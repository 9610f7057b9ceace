"""The shipped conformance suite over the hyperdrive backend's local sweep (Optuna, tiny budget)."""

from __future__ import annotations

import pytest

from asl_recognition import get_trainer
from asl_recognition.testing import TrainerConformance
from asl_recognition.trainers.base import Trainer

pytestmark = [pytest.mark.keras, pytest.mark.slow]

#: Two trials of the seed network, each a training-script process, selected on validation.
SWEEP = {
    "parameter_space": {"--hidden": "choice(16, 32)"},
    "policy": None,
    "max_total_runs": 2,
    "max_concurrent_runs": 1,
    "study_name": "conformance",
    "sampler_seed": 0,
}


class TestHyperDriveLocal(TrainerConformance):
    n_per_letter = 6

    def make_trainer(self) -> Trainer:
        return get_trainer(
            "hyperdrive", compute="local", sweep=SWEEP, arch="seed", epochs=5, batch_size=16, augment=False,
            optimizer="adam", learning_rate=0.003, schedule="constant", label_smoothing=0.0, threads=1,
        )  # fmt: skip
