"""Azure Machine Learning SDK v2 (``azure-ai-ml``, ``azure-identity``): a thin cloud adapter.

The SDK v2 counterpart of :mod:`asl_recognition.azure` (SDK v1), with the same division of
labour: the adapter builds the SDK's entities from plain values and makes the calls; it knows
nothing of this library's trainers, deployers or comparisons. The backends that use it decide
what to run and what the results mean: the ``hyperdrive`` and ``automl`` trainers with
``compute="azure"`` (SDK v2 is their default: :mod:`asl_recognition.trainers._hyperdrive_azure_v2`,
:mod:`asl_recognition.trainers._automl_azure_v2`) and the ``azure_online`` deployer
(:mod:`asl_recognition.deploy.azure_online`).

The network boundary is the ``MLClient``'s operation objects (``client.jobs``,
``client.data``, ``client.compute``, ``client.online_endpoints``, ...): every call goes
through one of them, and the offline tests replace exactly those with recording doubles.

=================  ==========================================================================
``settings``       the workspace resolved offline from config.json / settings / AZURE_* (no SDK)
``workspace``      the credential (``DefaultAzureCredential`` by default) and the ``MLClient``
``compute``        ``AmlCompute`` (scales to zero), create-or-reuse
``data``           a :class:`~asl_recognition.data.Dataset` as a ``uri_file`` or ``mltable`` asset
``environment``    an ``Environment`` from the pinned requirements; the code snapshot
``jobs``           ``command``, ``.sweep(...)``, ``automl.classification``; submit, stream, download
``endpoints``      ``ManagedOnlineEndpoint`` / ``ManagedOnlineDeployment``; invoke, logs, traffic
=================  ==========================================================================

Importing this package (and ``settings``) does not import the SDK; the other modules do, and
raise :class:`~asl_recognition.errors.MissingDependencyError`
(``pip install "asl-recognition[azure]"``) when it is missing.
"""

from __future__ import annotations

from asl_recognition.azure_v2._sdk import require_azure_ai_ml
from asl_recognition.azure_v2.settings import WorkspaceRef, load_settings, resolve_workspace

__all__ = ["WorkspaceRef", "load_settings", "require_azure_ai_ml", "resolve_workspace"]
