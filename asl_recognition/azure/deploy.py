"""Deploying a saved model to Azure Container Instances (SDK v1).

The model directory (any backend's saved :class:`~asl_recognition.models.base.TrainedModel`) is
registered with ``Model.register``, with the installed hand models bundled beside it
(:func:`~asl_recognition.photo.hand_models.bundle_hand_models`: the container cannot fetch
them, and the photo preprocessing and pose features need them). The service runs the
library's one scoring script, ``asl_recognition/deploy/score.py``, in an ``Environment`` built
from the library's pinned ``serve`` requirements plus the library wheel.

>>> cfg = aci_deployment_config(AciSettings(cpu_cores=1, memory_gb=2))
>>> cfg.cpu_cores, cfg.memory_gb, cfg.auth_enabled
(1, 2, True)
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asl_recognition.azure._sdk import require_azureml
from asl_recognition.azure.environment import build_environment
from asl_recognition.azure.gateway import AzureGateway, RegisteredModel
from asl_recognition.errors import ConfigurationError, ModelFormatError
from asl_recognition.models import read_metadata

require_azureml()

from azureml.core.model import InferenceConfig  # noqa: E402
from azureml.core.webservice import AciWebservice  # noqa: E402

__all__ = ["ENTRY_SCRIPT", "AciSettings", "aci_deployment_config", "deploy_model", "inference_config"]

log = logging.getLogger(__name__)

#: the scoring script every deployment runs
ENTRY_SCRIPT = "score.py"


@dataclasses.dataclass(frozen=True)
class AciSettings:
    """Container size and service options (``conf/deployer/aci.yaml``)."""

    cpu_cores: float = 1
    memory_gb: float = 1
    auth_enabled: bool = True
    enable_app_insights: bool = False
    location: str | None = None
    description: str = "ASL fingerspelling recogniser (asl_recognition)"
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for field in ("cpu_cores", "memory_gb"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigurationError(f"aci.{field} must be > 0, got {value!r}")
        if not self.auth_enabled:
            log.warning("aci: auth_enabled=False exposes the scoring endpoint without a key")


def aci_deployment_config(settings: AciSettings) -> Any:
    """``AciWebservice.deploy_configuration`` for ``settings``."""
    return AciWebservice.deploy_configuration(
        cpu_cores=settings.cpu_cores,
        memory_gb=settings.memory_gb,
        auth_enabled=settings.auth_enabled,
        enable_app_insights=settings.enable_app_insights,
        location=settings.location,
        description=settings.description,
        tags=dict(settings.tags) or None,
    )


def inference_config(environment: Any) -> InferenceConfig:
    """``InferenceConfig`` running the library's ``score.py`` in ``environment``."""
    from asl_recognition.deploy import score

    source = Path(score.__file__).resolve().parent
    return InferenceConfig(entry_script=ENTRY_SCRIPT, environment=environment, source_directory=str(source))


def deploy_model(
    gateway: AzureGateway,
    model_dir: Path,
    *,
    name: str,
    settings: AciSettings,
    wheel: str | Path | None,
    environment_name: str = "asl-recognition-serve",
    overwrite: bool = True,
    show_output: bool = True,
) -> tuple[Any, RegisteredModel]:
    """Register ``model_dir``, deploy it as ACI service ``name`` and wait until it is up."""
    try:
        meta = read_metadata(model_dir)
    except ModelFormatError as exc:
        raise ConfigurationError(f"cannot deploy {model_dir}: {exc}") from exc
    from asl_recognition.photo.hand_models import bundle_hand_models

    with tempfile.TemporaryDirectory(prefix="asl-deploy-") as tmp:
        staged = Path(tmp) / model_dir.name
        shutil.copytree(model_dir, staged)
        bundle_hand_models(staged)
        registered = gateway.register_model(
            staged,
            name=f"asl-{meta.backend}",
            tags={"backend": meta.backend, "model_type": meta.model_type},
            description=f"asl_recognition {meta.backend} model",
        )
    # images: scikit-image, for HOG models and the photo localizer's face finder
    env = build_environment(
        environment_name, gateway=gateway, wheel=wheel, extras=("serve", "images"), extra_pip=("azureml-defaults",)
    )
    service = gateway.deploy(
        name=name,
        models=[registered],
        inference_config=inference_config(env),
        deployment_config=aci_deployment_config(settings),
        overwrite=overwrite,
    )
    gateway.wait_for_deployment(service, show_output=show_output)
    log.info("azure: deployed %s:%s as %s", registered.name, registered.version, name)
    return service, registered
