"""Opt-in live test of the SDK v2 path against a real Azure ML workspace (costs money; many minutes).

Runs only with ``ASL_AZURE_LIVE=1`` and a workspace ``config.json`` (``AZUREML_CONFIG``, or in
the current directory or a parent), logged in for ``DefaultAzureCredential`` (``az login``, or
``AZURE_CLIENT_ID``/``AZURE_TENANT_ID``/``AZURE_CLIENT_SECRET``). It connects, creates or reuses a
small CPU cluster that scales to zero, registers a tiny data asset twice (the second time is
reused), deploys a tiny model to a managed online endpoint, scores one request both through the
SDK and over HTTPS with the key, and deletes the endpoint. See docs/azure.md.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.azure, pytest.mark.azure_live, pytest.mark.slow]


@pytest.fixture(scope="module")
def live_settings() -> Any:
    if os.environ.get("ASL_AZURE_LIVE") != "1":
        pytest.skip("live Azure test: set ASL_AZURE_LIVE=1 and provide a workspace config.json")
    pytest.importorskip("azure.ai.ml", reason="needs the azure extra")
    from asl_recognition.azure_v2.settings import find_config, load_settings

    explicit = os.environ.get("AZUREML_CONFIG")
    config = Path(explicit) if explicit else find_config()
    if config is None or not config.is_file():
        pytest.skip("live Azure test: no config.json found (set AZUREML_CONFIG)")
    return load_settings({
        "workspace": {"config_path": str(config)},
        "compute": {"name": "asl-live-cpu", "max_nodes": 1, "idle_seconds_before_scaledown": 300},
    })  # fmt: skip


def test_v2_connect_compute_data_and_online_endpoint(live_settings: Any, tmp_path: Path) -> None:
    from asl_recognition.azure_v2.compute import ensure_compute
    from asl_recognition.azure_v2.data import ensure_data
    from asl_recognition.azure_v2.workspace import connect
    from asl_recognition.deploy.azure_online import AzureOnlineDeployer
    from asl_recognition.testing import synthetic_dataset
    from asl_recognition.trainers.base import get_trainer

    client = connect(live_settings)
    assert ensure_compute(client, live_settings.compute) == "asl-live-cpu"
    data = synthetic_dataset(2)
    first = ensure_data(client, data, name="asl-live-test-v2", kind="uri_file", description="live test")
    again = ensure_data(client, data, name="asl-live-test-v2", kind="uri_file", description="live test")
    assert again.reused and again.version == first.version
    model_dir = get_trainer("sklearn", max_iter=50).fit(data).model.save(tmp_path / "m")
    name = f"asl-live-{uuid.uuid4().hex[:8]}"
    deployer = AzureOnlineDeployer(ml_client=client, endpoint_name=name, azure={"workspace": {
        "config_path": live_settings.workspace.config_path}})  # fmt: skip
    service = deployer.deploy(model_dir)
    try:
        assert service.state == "Healthy", service.get_logs()
        request = {"data": data.images[:1].reshape(1, -1).tolist()}
        assert len(service.invoke(request)["result"]) == 1
        assert len(service.run(request)["result"]) == 1
    finally:
        service.delete()
