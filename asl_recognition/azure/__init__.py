"""Azure Machine Learning (SDK v1): the single place in the library that talks to Azure.

Everything that crosses the network goes through one object, an :class:`AzureGateway`
(:mod:`asl_recognition.azure.gateway`); :class:`~asl_recognition.azure.workspace.WorkspaceGateway`
implements it with the real SDK, and the offline tests implement it with a recording double.
The rest of this package only *builds* SDK configuration objects (``AmlCompute`` provisioning,
``AutoMLConfig``, ``ScriptRunConfig``, ``HyperDriveConfig``, ``Environment``,
``InferenceConfig``, ``AciWebservice`` deployment configuration) and hands them to the gateway.

Importing this package does not import ``azureml``; its SDK modules (``workspace``, ``compute``,
``datasets``, ``environment``, ``automl``, ``hyperdrive``, ``deploy``) do, and raise
:class:`~asl_recognition.errors.MissingDependencyError` (``pip install "asl-recognition[azure]"``)
when the SDK is missing. A v2 (``azure-ai-ml``) implementation can live beside them behind the
same gateway interface.
"""

from __future__ import annotations

from asl_recognition.azure.gateway import AzureGateway, ChildRun, RegisteredModel, SubmittedRun
from asl_recognition.azure.settings import (
    AzureSettings,
    ComputeSettings,
    WorkspaceSettings,
    load_settings,
)

__all__ = [
    "AzureGateway",
    "AzureSettings",
    "ChildRun",
    "ComputeSettings",
    "RegisteredModel",
    "SubmittedRun",
    "WorkspaceSettings",
    "load_settings",
]
