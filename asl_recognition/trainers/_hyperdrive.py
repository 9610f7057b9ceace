"""The ``hyperdrive`` backend: the CNN sweep, locally (Optuna) or on Azure HyperDrive.

``compute="local"`` runs the CNN backend's local sweep (HyperDrive semantics through Optuna);
``compute="azure"`` submits the same sweep config as an Azure ML sweep of the same training
script: with SDK v2 (``azure_sdk="v2"``, the default) a ``command`` job's ``.sweep(...)``
(:mod:`asl_recognition.trainers._hyperdrive_azure_v2`), with SDK v1 (``azure_sdk="v1"``) a
HyperDrive run (:mod:`asl_recognition.trainers._hyperdrive_azure`). One switch, one search space.

>>> HyperDriveTrainer(compute="local", sweep="seed").sweep_spec.max_total_runs
50
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from asl_recognition._validation import Interval, StrOptions, check_param
from asl_recognition.errors import InvalidParameterError
from asl_recognition.trainers.base import TrainResult
from asl_recognition.trainers.cnn.config import TrainConfig

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from asl_recognition.azure.gateway import AzureGateway
    from asl_recognition.data.dataset import Dataset
    from asl_recognition.tracking import TrackedRun

__all__ = ["HyperDriveTrainer"]


class HyperDriveTrainer:
    """HyperDrive-style tuning of the CNN training script.

    Args:
        compute: ``"local"`` (the CNN backend's Optuna sweep) or ``"azure"`` (HyperDrive).
        sweep: sweep config: a shipped name (``"seed"``), a YAML path or a mapping.
        validation_fraction: leak-free fraction of ``train`` held out when ``fit`` gets no
            ``validation`` (local; on Azure the script splits with the same function).
        azure: Azure settings (mapping or YAML path); None: defaults plus ``AZUREML_*`` (SDK v2
            also ``AZURE_SUBSCRIPTION_ID``, ``AZURE_RESOURCE_GROUP``) or a found ``config.json``.
        azure_sdk: ``"v2"`` (default: ``azure-ai-ml``) or ``"v1"`` (``azureml-core``).
        wheel: SDK v1: this library's built wheel, installed in the Azure environment (SDK v2
            ships the library in the job's code snapshot instead).
        data_mode: ``"download"`` or ``"mount"``: how the dataset reaches ``--data`` on Azure.
        model_name: name under which the best model is registered on Azure.
        max_total_runs: override of the sweep config's run budget (None: keep it).
        max_concurrent_runs: override of the sweep config's parallelism (None: keep it).
        gateway: SDK v1: the Azure boundary (tests pass a double); None: connect for real.
        ml_client: SDK v2: the ``MLClient`` to use (tests replace its operations); None:
            connect for real in :meth:`preflight`.
        **params: fixed CNN hyperparameters (``arch``, ``epochs``, ...) for every trial.
    """

    name = "hyperdrive"
    #: the dataclass whose fields ``**params`` are (for the typed config schema)
    extra_params: ClassVar[type[TrainConfig]] = TrainConfig

    def __init__(
        self,
        *,
        compute: Literal["local", "azure"] = "local",
        sweep: Mapping[str, Any] | str = "seed",
        validation_fraction: float = 0.2,
        azure: Mapping[str, Any] | str | None = None,
        azure_sdk: Literal["v2", "v1"] = "v2",
        wheel: str | None = None,
        data_mode: Literal["download", "mount"] = "download",
        model_name: str = "asl-cnn",
        max_total_runs: int | None = None,
        max_concurrent_runs: int | None = None,
        gateway: AzureGateway | None = None,
        ml_client: MLClient | None = None,
        **params: Any,
    ) -> None:
        from asl_recognition.trainers.cnn.sweep import SweepSpec, load_sweep_config

        check_param("compute", compute, StrOptions(["local", "azure"]))
        check_param("data_mode", data_mode, StrOptions(["download", "mount"]))
        check_param("azure_sdk", azure_sdk, StrOptions(["v2", "v1"]))
        if "seed" in params:
            raise InvalidParameterError("'seed' is an argument of fit(), not of the trainer")
        check_param("validation_fraction", validation_fraction, Interval(float, 0, 1, closed="neither"))
        raw = load_sweep_config(sweep) if isinstance(sweep, str) else dict(sweep)
        if max_total_runs is not None:
            raw["max_total_runs"] = max_total_runs
        if max_concurrent_runs is not None:
            raw["max_concurrent_runs"] = max_concurrent_runs
        self.sweep_spec = SweepSpec.from_config(raw)
        self.base = TrainConfig().replace(**params)
        self.compute = compute
        self.sweep = raw
        self.params = dict(params)
        self.validation_fraction = float(validation_fraction)
        self.wheel = wheel
        self.data_mode: Literal["download", "mount"] = data_mode
        self.model_name = model_name
        self.gateway = gateway
        self.ml_client = ml_client
        self.azure_sdk: Literal["v2", "v1"] = azure_sdk
        self.azure_settings: Any = None
        if compute == "azure":
            from asl_recognition.trainers._azure_sdk import load_azure_settings

            self.azure_settings = load_azure_settings(azure, azure_sdk)
            if wheel is not None and not Path(wheel).is_file():
                raise InvalidParameterError(f"'wheel' {wheel} does not exist")

    def use_tracking(self, run: TrackedRun | None) -> None:
        """Locally, log each sweep trial as a run nested under ``run``
        (:class:`~asl_recognition.trainers.base.TrackingUser`)."""
        self._tracking = run

    def preflight(self) -> None:
        """SDK v2 on Azure: connect and check the workspace (the main job calls this before loading data)."""
        if self.compute == "azure" and self.azure_sdk == "v2":
            from asl_recognition.trainers._azure_sdk import connect_v2

            self.ml_client = connect_v2(self.azure_settings, self.ml_client)

    def __repr__(self) -> str:
        return f"HyperDriveTrainer(compute={self.compute!r}, sweep={self.sweep_spec.study_name!r})"

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Run the sweep and return its best model, selected on the leak-free validation."""
        if self.compute == "local":
            from asl_recognition.trainers.cnn.backend import KerasCnnTrainer

            local = KerasCnnTrainer(sweep=self.sweep, validation_fraction=self.validation_fraction, **self.params)
            local.use_tracking(getattr(self, "_tracking", None))
            result = local.fit(train, validation=validation, seed=seed)
            result.backend = self.name
            return result
        start = time.perf_counter()
        job: dict[str, Any] = {"spec": self.sweep_spec, "base": self.base.replace(seed=seed), "train": train,
                               "validation": validation, "data_mode": self.data_mode,
                               "model_name": self.model_name}  # fmt: skip
        if self.azure_sdk == "v2":
            from asl_recognition.trainers._hyperdrive_azure_v2 import run_hyperdrive_v2

            self.preflight()
            result = run_hyperdrive_v2(self.ml_client, self.azure_settings, **job)
        else:
            from asl_recognition.trainers._hyperdrive_azure import run_hyperdrive

            gateway = self.gateway
            if gateway is None:
                from asl_recognition.azure.workspace import connect

                gateway = connect(self.azure_settings)
            result = run_hyperdrive(gateway, self.azure_settings, wheel=self.wheel, **job)
        result.timings.setdefault("fit_s", time.perf_counter() - start)
        return result
