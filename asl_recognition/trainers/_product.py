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

or takes the *names* of other trainers of the same main job as members
(``members: [cnn_fast, pose]``): :func:`asl_recognition.job.run_job` trains those first and
hands their models over (the :class:`~asl_recognition.trainers.base.JobModelsUser` protocol).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asl_recognition.errors import InvalidParameterError, TrainingError
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
            already trained :class:`~asl_recognition.models.base.TrainedModel` (kept as it is); or
            a list of the names of other trainers of the same main job (``[cnn_fast, pose]``),
            whose models the job hands over (:class:`~asl_recognition.trainers.base.JobModelsUser`).

    The product's validation accuracy is reported only when no member was refit on the whole
    training file (``refit: true`` in the main job): such a member has seen the validation rows.
    """

    name = "product"

    def __init__(self, *, members: Mapping[str, Any] | Sequence[str]) -> None:
        if isinstance(members, str) or not isinstance(members, Mapping | Sequence) or len(members) < 2:
            raise InvalidParameterError(
                "'members' must map at least two names to trainer specs or models, or list at least two "
                f"trainers of the job, got {members!r}"
            )
        self._trained: dict[str, TrainedModel] = {}
        self._trainers: dict[str, Any] = {}
        #: names of the job's trainers whose models this product combines (empty: own members)
        self.job_models: tuple[str, ...] = ()
        if not isinstance(members, Mapping):
            self.job_models = tuple(check_member_name(str(m)) for m in members)
        else:
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

    def use_job_models(self, models: Mapping[str, TrainedModel]) -> None:
        """Take the trained models of the job's trainers named in :attr:`job_models`."""
        missing = [k for k in self.job_models if k not in models]
        if missing:
            raise InvalidParameterError(f"product: no trained model for member(s) {missing}")
        self._trained = {k: models[k] for k in self.job_models}

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Train the members that are specs (with the same data and seed), then combine."""
        if self.job_models and not self._trained:
            raise TrainingError(
                f"product: members {list(self.job_models)} are trainers of a main job; run it with run_job "
                "(or pass trained models or trainer specs)"
            )
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
