"""The ``product`` backend: train several members and combine them into a product of experts.

The model is a :class:`~asl_recognition.models.product.ProductModel` (see that module for why
and how the members' probabilities are combined). :class:`ProductTrainer` trains the members
from trainer specs::

    trainer:
      cnn_pose:
        name: product
        params:
          members:
            cnn: {name: cnn, params: {epochs: 5}}
            pose: {name: sklearn, params: {estimator: random_forest, preprocessing: landmarks}}

and the main job (:func:`asl_recognition.job.run_job`) also accepts the *names* of other
trainers of the same job as members (``members: [cnn_fast, pose]``), reusing their models.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asl_recognition.errors import InvalidParameterError
from asl_recognition.models.base import TrainedModel
from asl_recognition.models.product import ProductModel, check_member_name
from asl_recognition.trainers.base import TrainResult, get_trainer, validation_metrics

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["ProductTrainer"]

log = logging.getLogger(__name__)


class ProductTrainer:
    """Train each member and combine them into a :class:`ProductModel`.

    Args:
        members: name -> ``{"name": backend, "params": {...}}`` trainer specs, or name -> an
            already trained :class:`~asl_recognition.models.base.TrainedModel` (kept as it is).

    The product's validation accuracy is reported only when no member was refit on the whole
    training file (``refit: true`` in the main job): such a member has seen the validation rows.
    """

    name = "product"

    def __init__(self, *, members: Mapping[str, Any]) -> None:
        if not isinstance(members, Mapping) or len(members) < 2:
            raise InvalidParameterError("'members' must map at least two names to trainer specs or models")
        self._trained: dict[str, TrainedModel] = {}
        self._trainers: dict[str, Any] = {}
        for name, spec in members.items():
            key = check_member_name(str(name))
            if isinstance(spec, TrainedModel):
                self._trained[key] = spec
            elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
                self._trainers[key] = get_trainer(spec["name"], **dict(spec.get("params") or {}))
            else:
                raise InvalidParameterError(
                    f"member {key!r} must be {{name: BACKEND, params: {{...}}}} or a trained model, got {spec!r}"
                )
        self.params: dict[str, Any] = {"members": list(members)}

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Train the members that are specs (with the same data and seed), then combine."""
        start = time.perf_counter()
        models = dict(self._trained)
        timings: dict[str, float] = {}
        for key, trainer in self._trainers.items():
            result = trainer.fit(train, validation=validation, seed=seed)
            models[key] = result.model
            timings[f"{key}_fit_s"] = result.timings.get("fit_s", 0.0)
        model = ProductModel({k: models[k] for k in self.params["members"]})
        refit = [k for k, m in models.items() if m.metadata.extra.get("refit")]
        if refit and validation is not None:
            # a member retrained on the whole training file has seen the validation rows
            log.info("product: no validation metrics (members %s were refit on the validation rows too)", refit)
            validation = None
        metrics = validation_metrics(model, validation) if validation is not None else {}
        model.metadata.metrics.update(metrics)
        timings["fit_s"] = time.perf_counter() - start
        return TrainResult(model=model, metrics=metrics, hyperparameters=dict(model.metadata.hyperparameters),
                           timings=timings, backend=self.name)  # fmt: skip
