"""The shipped conformance suite over the automl backend in local mode."""

from __future__ import annotations

import pytest

from asl_recognition.testing import TrainerConformance
from asl_recognition.trainers.base import Trainer, get_trainer

pytest.importorskip("flaml.automl", reason='needs FLAML: pip install "asl-recognition[automl]"')


class TestAutoMLLocal(TrainerConformance):
    def make_trainer(self) -> Trainer:
        # a fixed candidate count (well inside the budget) makes the search reproducible
        return get_trainer("automl", time_budget_s=120, max_iterations=3, families=["logistic", "svc"])
