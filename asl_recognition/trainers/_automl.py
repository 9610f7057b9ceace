"""The ``automl`` backend: AutoML locally (FLAML) or on Azure ML (AutoMLConfig), one switch.

``compute="local"`` (the default) searches scikit-learn pipelines with FLAML on the leak-free
validation split (:mod:`asl_recognition.trainers._automl_local`) and returns a
:class:`~asl_recognition.models.sklearn.SklearnModel` (skops, allow-listed types).
``compute="azure"`` submits an Azure AutoML job with the seed study's settings (SDK v2,
``azure_sdk="v2"``, the default: ``automl.classification``,
:mod:`asl_recognition.trainers._automl_azure_v2`; SDK v1, ``azure_sdk="v1"``: ``AutoMLConfig``,
:mod:`asl_recognition.trainers._automl_azure`) and returns its best model as ONNX.

>>> AutoMLTrainer(compute="cloud")
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'compute' must be one of local, azure, got 'cloud'
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from asl_recognition._validation import Interval, Options, StrOptions, check_param
from asl_recognition.errors import InvalidParameterError, TrainingError
from asl_recognition.models.base import ModelMetadata
from asl_recognition.trainers.base import TrainResult, validation_metrics

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from asl_recognition.azure.gateway import AzureGateway
    from asl_recognition.data.dataset import Dataset

__all__ = ["AutoMLTrainer"]

log = logging.getLogger(__name__)

Compute = Literal["local", "azure"]


class AutoMLTrainer:
    """Automated model search, locally with FLAML or on Azure AutoML.

    Args:
        compute: ``"local"`` (FLAML on this machine) or ``"azure"`` (Azure AutoML).
        time_budget_s: local search budget in seconds (the winner's refit comes on top).
        max_iterations: local: stop after this many candidates (None: budget only). With a
            fixed count and a generous budget the search is reproducible for a seed.
        families: local model families to search (default: all of
            :data:`~asl_recognition.trainers._automl_local.FAMILIES`).
        n_jobs: local parallel jobs for the estimators that support them.
        refit_full: local: refit the selected configuration on training plus validation data
            (more distinct photos: better test accuracy); ``validation_accuracy`` is then the
            configuration's search-time score on the validation set (fitted without it).
        validation_fraction: leak-free fraction of ``train`` held out when ``fit`` gets no
            ``validation``.
        azure: Azure settings (mapping or YAML path, see ``conf/azure/default.yaml``); None:
            defaults plus the ``AZUREML_*`` environment variables (SDK v2 also
            ``AZURE_SUBSCRIPTION_ID``, ``AZURE_RESOURCE_GROUP``) or a found ``config.json``.
        azure_sdk: ``"v2"`` (default: ``azure-ai-ml``) or ``"v1"`` (``azureml-core``).
        automl_settings: overrides of the seed's settings (azure only), in SDK v1
            ``AutoMLConfig`` names for both SDKs (SDK v2 maps them, see
            :data:`~asl_recognition.trainers._automl_azure_v2.V2_NAMES`).
        gateway: SDK v1: the Azure boundary to use (tests pass a double); None: connect for real.
        ml_client: SDK v2: the ``MLClient`` to use (tests replace its operations); None:
            connect for real in :meth:`preflight`.
    """

    name = "automl"

    def __init__(
        self,
        *,
        compute: Compute = "local",
        time_budget_s: float = 300.0,
        max_iterations: int | None = None,
        families: Sequence[str] | None = None,
        n_jobs: int = 1,
        refit_full: bool = False,
        validation_fraction: float = 0.2,
        azure: Mapping[str, Any] | str | None = None,
        azure_sdk: Literal["v2", "v1"] = "v2",
        automl_settings: Mapping[str, Any] | None = None,
        gateway: AzureGateway | None = None,
        ml_client: MLClient | None = None,
    ) -> None:
        from asl_recognition.trainers._automl_local import FAMILIES

        check_param("compute", compute, StrOptions(["local", "azure"]))
        check_param("time_budget_s", time_budget_s, Interval(float, 0, None, closed="neither"))
        check_param("max_iterations", max_iterations, None, Interval(int, 1, None))
        chosen = tuple(families) if families is not None else FAMILIES
        unknown = sorted(set(chosen) - set(FAMILIES))
        if unknown or not chosen:
            raise InvalidParameterError(f"'families' has unknown entries {unknown}; choose from {', '.join(FAMILIES)}")
        check_param("n_jobs", n_jobs, Options([-1]), Interval(int, 1, None))
        check_param("validation_fraction", validation_fraction, Interval(float, 0, 1, closed="neither"))
        check_param("refit_full", refit_full, bool)
        check_param("azure_sdk", azure_sdk, StrOptions(["v2", "v1"]))
        self.compute: Compute = compute
        self.time_budget_s = float(time_budget_s)
        self.max_iterations = max_iterations
        self.families = chosen
        self.n_jobs = n_jobs
        self.refit_full = refit_full
        self.validation_fraction = float(validation_fraction)
        self.automl_settings = dict(automl_settings or {})
        self.gateway = gateway
        self.ml_client = ml_client
        self.azure_sdk: Literal["v2", "v1"] = azure_sdk
        self.azure_settings: Any = None
        if compute == "azure":
            from asl_recognition.trainers._azure_sdk import load_azure_settings

            source = azure if not isinstance(azure, str) else os.fspath(azure)
            self.azure_settings = load_azure_settings(source, azure_sdk)

    def preflight(self) -> None:
        """SDK v2 on Azure: connect and check the workspace (the main job calls this before loading data)."""
        if self.compute == "azure" and self.azure_sdk == "v2":
            from asl_recognition.trainers._azure_sdk import connect_v2

            self.ml_client = connect_v2(self.azure_settings, self.ml_client)

    def __repr__(self) -> str:
        return f"AutoMLTrainer(compute={self.compute!r}, time_budget_s={self.time_budget_s:g})"

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Search on ``train``, select on ``validation`` (or a leak-free split of ``train``)."""
        if len(np.unique(train.labels)) < 2:
            raise TrainingError(f"training data {train.name!r} must contain at least two letters")
        if validation is None:
            train, validation = train.split_validation(fraction=self.validation_fraction, seed=seed)
        if self.compute == "azure":
            return self._fit_azure(train, validation)
        return self._fit_local(train, validation, seed)

    def _fit_local(self, train: Dataset, validation: Dataset, seed: int) -> TrainResult:
        from asl_recognition.models.sklearn import SklearnModel
        from asl_recognition.trainers._automl_local import search

        start = time.perf_counter()
        found = search(
            train.images,
            train.labels,
            validation.images,
            validation.labels,
            time_budget_s=self.time_budget_s,
            families=self.families,
            max_iterations=self.max_iterations,
            seed=seed,
            n_jobs=self.n_jobs,
            refit_full=self.refit_full,
        )
        hyper = {
            "family": found.family,
            **found.config,
            "seed": seed,
            "time_budget_s": self.time_budget_s,
            "refit_full": self.refit_full,
        }
        metadata = ModelMetadata.create(
            model_type=SklearnModel.model_type,
            backend=self.name,
            labels=tuple(int(c) for c in found.pipeline.classes_),
            preprocessing={
                "input": "raw pixels 0..255, (N, 784)",
                "steps": [s for s, _ in found.pipeline.steps],
            },
            hyperparameters=hyper,
            data_fingerprint=train.fingerprint,
            extra={
                "automl": {
                    "engine": "flaml",
                    "trials": len(found.trials),
                    "search_s": found.search_s,
                }
            },
        )
        model = SklearnModel(pipeline=found.pipeline, metadata=metadata)
        if self.refit_full:
            metrics = {
                "validation_accuracy": found.validation_accuracy,
                "validation_size": float(len(validation)),
            }
        else:
            metrics = validation_metrics(model, validation)
        model.metadata.metrics.update(metrics)
        return TrainResult(
            model=model,
            metrics=metrics,
            hyperparameters=hyper,
            timings={
                "fit_s": time.perf_counter() - start,
                "search_s": found.search_s,
                "refit_s": found.refit_s,
            },
            trials=found.trials,
            backend=self.name,
        )

    def _fit_azure(self, train: Dataset, validation: Dataset) -> TrainResult:
        if self.azure_sdk == "v2":
            from asl_recognition.trainers._automl_azure_v2 import run_automl_v2

            self.preflight()
            return run_automl_v2(
                self.ml_client, self.azure_settings, train=train, validation=validation, overrides=self.automl_settings
            )
        from asl_recognition.trainers._automl_azure import run_automl

        gateway = self.gateway
        if gateway is None:
            from asl_recognition.azure.workspace import connect

            gateway = connect(self.azure_settings)
        return run_automl(
            gateway,
            self.azure_settings,
            train=train,
            validation=validation,
            overrides=self.automl_settings,
        )
