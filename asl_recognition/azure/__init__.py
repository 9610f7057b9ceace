"""Azure Machine Learning SDK v1 (``azureml-core``): a thin cloud adapter.

The adapter knows the SDK and nothing of this library's trainers, deployers or comparisons: it
takes plain values (names, paths, settings mappings, SDK-ready arguments) and returns plain
records (:class:`SubmittedRun`, :class:`ChildRun`, :class:`RegisteredModel`, ...). The
backends that use it decide what to run and what the results mean: the ``automl`` and
``hyperdrive`` trainers (:mod:`asl_recognition.trainers._automl_azure`,
:mod:`asl_recognition.trainers._hyperdrive_azure`) and the ``aci`` deployer
(:mod:`asl_recognition.deploy.aci`).

Everything that crosses the network goes through one object, an :class:`AzureGateway`
(:mod:`~asl_recognition.azure.gateway`); :class:`~asl_recognition.azure.workspace.WorkspaceGateway`
implements it with the real SDK, and the offline tests implement it with a recording double.

=====================  ==================================================================
``settings``           workspace, authentication and compute settings (no SDK import)
``gateway``            the network boundary (a Protocol) and the records crossing it
``workspace``          :func:`~asl_recognition.azure.workspace.connect` and the real gateway
``compute``            AmlCompute provisioning configuration, create-or-reuse
``datasets``           a :class:`~asl_recognition.data.Dataset` registered as a tabular/file dataset
``environment``        an ``Environment`` from the library's pinned requirements plus its wheel
``jobs``               ``AutoMLConfig``, ``ScriptRunConfig``, ``HyperDriveConfig``; submit, wait
``services``           ``InferenceConfig``, ACI deployment configuration; deploy a web service
=====================  ==================================================================

Importing this package does not import ``azureml``; its SDK modules (``workspace``, ``compute``,
``environment``, ``jobs``, ``services``) do, and raise
:class:`~asl_recognition.errors.MissingDependencyError` (``pip install "asl-recognition[azure]"``)
when the SDK is missing. An adapter for SDK v2 (``azure-ai-ml``) belongs beside this one, as
``asl_recognition.azure_v2``, with the same division of labour.
"""

from __future__ import annotations

from asl_recognition.azure._sdk import require_azureml
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
    "require_azureml",
]
