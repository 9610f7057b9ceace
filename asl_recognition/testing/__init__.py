"""Conformance checks that every training backend, ours or a user's, must pass.

Two ways to run them:

* in pytest, subclass :class:`TrainerConformance` and implement ``make_trainer``; every check
  becomes its own test::

      from asl_recognition.testing import TrainerConformance

      class TestMyTrainer(TrainerConformance):
          def make_trainer(self):
              return MyTrainer(epochs=1)

* anywhere else, call :func:`check_trainer` with a factory; it raises ``AssertionError`` naming
  the first failed check.

The checks (see :data:`CHECKS`): fits on synthetic data and returns a ``TrainResult``; learns
(its accuracy on held-out synthetic data beats chance by :data:`LEARNS_MARGIN`); predicts only
valid letters; probabilities have the right shape and sum to 1; (N, 28, 28) and (N, 784)
inputs agree; save/load round trip gives identical predictions; ``fit`` does not mutate its input;
the same seed gives the same result; a failed save leaves nothing half-written; invalid input is
rejected with an :class:`~asl_recognition.errors.AslRecognitionError`.
"""

from __future__ import annotations

from asl_recognition.testing._checks import CHECKS, LEARNS_MARGIN, TrainerConformance, check_trainer
from asl_recognition.testing._synthetic import synthetic_dataset, synthetic_images

__all__ = ["CHECKS", "LEARNS_MARGIN", "TrainerConformance", "check_trainer", "synthetic_dataset", "synthetic_images"]
