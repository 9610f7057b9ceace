"""Product of experts: one model from several, each judging the image in its own way.

:class:`ProductModel` multiplies its members' class probabilities and renormalises (Hinton
2002, "Training products of experts"; with equal weights it is the naive-Bayes combination of
experts whose errors are independent given the letter). A letter wins when every member finds
it plausible: one member's confident mistake is vetoed by another that finds the letter
unlikely. No weight is tuned: every member counts once. Probabilities are floored at
:data:`FLOOR` so that a member's zero vetoes a letter without erasing the others' ranking.

Why: a CNN on pixels and a classifier on hand landmarks
(:mod:`asl_recognition.photo.pose_features`) read a Sign MNIST image alike (both right), but
fail differently on a real photo: the CNN is misled by what Sign MNIST's rooms and light taught
it, the pose classifier by an imprecise landmark. On the development photos the product reads
more photos than either (``docs/photos.md``), while on the test file the CNN's confident right
answers carry it.

:class:`ProductTrainer` (backend ``product``) trains the members from trainer specs::

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

>>> import numpy as np
>>> combine_probabilities([np.array([[0.6, 0.4]]), np.array([[0.2, 0.8]])]).round(3).tolist()
[[0.273, 0.727]]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import InvalidParameterError, ModelFormatError, TrainingError
from asl_recognition.model import METADATA_FILE, ModelMetadata, TrainedModel, load_model
from asl_recognition.trainers.base import TrainResult, get_trainer, validation_metrics

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["FLOOR", "ProductModel", "ProductTrainer", "combine_probabilities"]

log = logging.getLogger(__name__)

#: Smallest probability a member contributes (log of zero is minus infinity).
FLOOR = 1e-6
_MEMBERS_DIR = "members"


def combine_probabilities(members: Sequence[npt.ArrayLike]) -> npt.NDArray[np.float64]:
    """Renormalised product of ``(N, K)`` probability arrays (each floored at :data:`FLOOR`)."""
    logs = sum(np.log(np.maximum(np.asarray(p, dtype=np.float64), FLOOR)) for p in members)
    logs = np.asarray(logs, dtype=np.float64)
    logs -= logs.max(axis=1, keepdims=True)
    out = np.exp(logs)
    normalised: npt.NDArray[np.float64] = out / out.sum(axis=1, keepdims=True)
    return normalised


def _check_name(name: str) -> str:
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise InvalidParameterError(f"member names must be letters, digits, '_' or '-', got {name!r}")
    return name


class ProductModel(TrainedModel):
    """The product of its members' probabilities (see the module docstring).

    Args:
        members: name -> trained model; at least two, all with the same labels.
        metadata: None builds it (backend ``product``, the members' labels).
    """

    model_type = "product"

    def __init__(self, members: Mapping[str, TrainedModel], *, metadata: ModelMetadata | None = None) -> None:
        if len(members) < 2:
            raise InvalidParameterError(f"a product of experts needs at least two members, got {len(members)}")
        named = {_check_name(str(k)): m for k, m in members.items()}
        labels = {m.labels for m in named.values()}
        if len(labels) != 1:
            raise ModelFormatError(f"members predict different labels: {sorted(labels)}")
        if metadata is None:
            metadata = ModelMetadata.create(
                model_type=self.model_type, backend="product", labels=next(iter(labels)),
                preprocessing={"members": {k: m.metadata.preprocessing for k, m in named.items()}},
                hyperparameters={"members": {k: m.metadata.backend for k, m in named.items()}},
            )  # fmt: skip
        super().__init__(metadata=metadata)
        self.members = named

    def set_threads(self, threads: int | None) -> None:
        """Cap the compute threads of the members that have their own pool (a server worker)."""
        for member in self.members.values():
            set_threads = getattr(member, "set_threads", None)
            if callable(set_threads):
                set_threads(threads)

    def member_probabilities(self, images: Any) -> dict[str, npt.NDArray[np.float32]]:
        """Each member's probabilities for ``images`` (for comparisons and diagnosis)."""
        return {name: m.predict_proba(images) for name, m in self.members.items()}

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        return combine_probabilities(list(self.member_probabilities(images).values()))

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        files: dict[str, str] = {}
        for name, member in self.members.items():
            folder = f"{_MEMBERS_DIR}/{name}"
            member.save(directory / folder)
            files[f"member:{name}"] = f"{folder}/{METADATA_FILE}"
            for role, file in member.metadata.files.items():
                files[f"member:{name}:{role}"] = f"{folder}/{file}"
        return files

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> ProductModel:
        roles = [role.split(":") for role in metadata.files]
        names = [parts[1] for parts in roles if len(parts) == 2 and parts[0] == "member"]
        if len(names) < 2:
            raise ModelFormatError(f"{directory}: a product model lists fewer than two members")
        members = {name: load_model(directory / _MEMBERS_DIR / _check_name(name)) for name in names}
        return cls(members, metadata=metadata)


class ProductTrainer:
    """Train each member and combine them into a :class:`ProductModel`.

    Args:
        members: name -> ``{"name": backend, "params": {...}}`` trainer specs, or name -> an
            already trained :class:`~asl_recognition.model.TrainedModel` (kept as it is); or a
            list of the names of other trainers of the same main job (``[cnn_fast, pose]``),
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
            self.job_models = tuple(_check_name(str(m)) for m in members)
        else:
            for name, spec in members.items():
                key = _check_name(str(name))
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
