"""Opt-in live test against a real Azure ML workspace (costs money; minutes to run).

Runs only with ``ASL_AZURE_LIVE=1`` and a workspace ``config.json`` (``AZUREML_CONFIG``, or in
the current directory or a parent). It connects, creates or reuses a small CPU cluster that
scales to zero, registers a tiny dataset, deploys a tiny model to ACI, scores one request, and
deletes the service. See docs/azure.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.azure, pytest.mark.azure_live, pytest.mark.slow]


def _config() -> Path | None:
    explicit = os.environ.get("AZUREML_CONFIG")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    for folder in [Path.cwd(), *Path.cwd().parents]:
        for candidate in (folder / "config.json", folder / ".azureml" / "config.json"):
            if candidate.is_file():
                return candidate
    return None


@pytest.fixture(scope="module")
def live_settings():  # type: ignore[no-untyped-def]
    if os.environ.get("ASL_AZURE_LIVE") != "1":
        pytest.skip("live Azure test: set ASL_AZURE_LIVE=1 and provide a workspace config.json")
    config = _config()
    if config is None:
        pytest.skip("live Azure test: no config.json found (set AZUREML_CONFIG)")
    from asl_recognition.azure.settings import AzureSettings

    return AzureSettings.from_mapping(
        {
            "workspace": {"config_path": str(config)},
            "compute": {"name": "asl-live-cpu", "max_nodes": 1, "idle_seconds_before_scaledown": 300},
        },
    )


def test_connect_compute_dataset_and_deploy(live_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from asl_recognition.azure.compute import ensure_compute
    from asl_recognition.azure.datasets import ensure_dataset
    from asl_recognition.azure.workspace import connect
    from asl_recognition.deploy.aci import AciDeployer
    from asl_recognition.testing import synthetic_dataset
    from asl_recognition.trainers.base import get_trainer

    gateway = connect(live_settings)
    assert ensure_compute(gateway, live_settings.compute) is not None
    data = synthetic_dataset(2)
    registered = ensure_dataset(gateway, data, name="asl-live-test", description="live test")
    again = ensure_dataset(gateway, data, name="asl-live-test", description="live test")
    assert again.reused and again.version == registered.version
    wheel = os.environ.get("ASL_AZURE_WHEEL")
    if not wheel:
        pytest.skip("set ASL_AZURE_WHEEL to a built wheel (python -m build --wheel) to test ACI")
    model_dir = get_trainer("sklearn", max_iter=50).fit(data).model.save(tmp_path / "m")
    service = AciDeployer(wheel=wheel, gateway=gateway, service_name="asl-live-test").deploy(model_dir)
    try:
        assert service.state == "Healthy", service.get_logs()
        answer = service.run({"data": data.images[:1].reshape(1, -1).tolist()})
        assert len(answer["result"]) == 1
    finally:
        service.delete()
