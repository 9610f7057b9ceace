"""SDK v2 workspace: resolved offline from config.json / settings / AZURE_* variables; a missing
or wrong workspace fails before any data is loaded, in one line naming the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.azure
pytest.importorskip("azure.ai.ml", reason="needs the azure extra")

_AZURE_VARS = ("AZURE", "AZUREML")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_AZURE_VARS)}
    return {**env, **extra}


def test_config_json_names_and_environment(tmp_path: Path) -> None:
    from asl_recognition.azure_v2 import load_settings, resolve_workspace
    from asl_recognition.errors import ConfigurationError

    config = tmp_path / "project" / ".azureml" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"subscription_id": "s", "resource_group": "g", "workspace_name": "w"}))
    (tmp_path / "project" / "sub").mkdir()
    found = resolve_workspace(load_settings({}, environ={}).workspace, cwd=tmp_path / "project" / "sub")
    assert (found.workspace_name, found.source, found.config_path) == ("w", "config", str(config))
    env = {"AZURE_SUBSCRIPTION_ID": "s2", "AZURE_RESOURCE_GROUP": "g2", "AZUREML_WORKSPACE_NAME": "w2"}
    named = resolve_workspace(load_settings(None, environ=env).workspace, cwd=tmp_path)
    assert (named.subscription_id, named.resource_group, named.workspace_name) == ("s2", "g2", "w2")

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"subscription_id": "s", "workspace_name": "w"}))
    with pytest.raises(ConfigurationError, match=r"broken.json: missing resource_group"):
        resolve_workspace(load_settings({"workspace": {"config_path": str(broken)}}, environ={}).workspace)
    with pytest.raises(ConfigurationError, match=r"resource_group missing.*AZURE_RESOURCE_GROUP"):
        load_settings(None, environ={"AZURE_SUBSCRIPTION_ID": "s", "AZUREML_WORKSPACE_NAME": "w"})
    with pytest.raises(ConfigurationError, match=r"no Azure ML workspace: .*subscription_id"):
        resolve_workspace(load_settings(None, environ={}).workspace, cwd=tmp_path / "elsewhere")


def test_credentials() -> None:
    from asl_recognition.azure.settings import WorkspaceSettings
    from asl_recognition.azure_v2.workspace import credential
    from asl_recognition.errors import ConfigurationError

    assert type(credential(WorkspaceSettings())).__name__ == "DefaultAzureCredential"
    sp = WorkspaceSettings(auth="service_principal", tenant_id="t", client_id="c")
    assert type(credential(sp, environ={"AZUREML_CLIENT_SECRET": "x"})).__name__ == "ClientSecretCredential"
    with pytest.raises(ConfigurationError, match="AZUREML_CLIENT_SECRET"):
        credential(sp, environ={})


def test_wrong_workspace_fails_in_preflight_in_one_line(make_v2: Any, v2_azure: Any) -> None:
    from azure.core.exceptions import HttpResponseError

    from asl_recognition.errors import ConfigurationError
    from asl_recognition.trainers.base import get_trainer

    error = HttpResponseError(message='(ResourceNotFound) Workspace not found\n{"error": {"code": "NotFound"}}')
    rec = make_v2(workspace_error=error)
    trainer = get_trainer("hyperdrive", compute="azure", azure=v2_azure, ml_client=rec.client)
    with pytest.raises(ConfigurationError) as info:
        trainer.preflight()
    message = str(info.value)
    assert "cannot open Azure ML workspace 'ws'" in message and "Workspace not found" in message
    assert "\n" not in message and rec.called("workspaces.get") == [{"name": "ws"}]


def test_the_main_job_runs_preflight_before_loading_data(tmp_path: Path) -> None:
    from asl_recognition.errors import ConfigurationError
    from asl_recognition.job import run_job
    from asl_recognition.trainers.base import register_trainer, trainers

    @register_trainer("preflight-probe", replace=True)
    class Probe:
        def preflight(self) -> None:
            raise ConfigurationError("probe: workspace missing")

        def fit(self, train: Any, *, validation: Any = None, seed: int = 0) -> Any:
            raise AssertionError("fit must not run")

    try:
        cfg = {"trainer": {"p": {"name": "preflight-probe", "params": {}}},
               "data": {"data_dir": str(tmp_path / "no-data-here")}}  # fmt: skip
        with pytest.raises(ConfigurationError, match="probe: workspace missing"):
            run_job(cfg, output_dir=tmp_path / "out")
    finally:
        trainers.unregister("preflight-probe")


@pytest.mark.parametrize("trainer", ["automl", "hyperdrive"])
def test_cli_without_a_workspace_fails_before_loading_data(tmp_path: Path, trainer: str) -> None:
    """The real entry point, no workspace anywhere, and no data either: the error must be the
    workspace's (had the job loaded data first, it would have failed on the data)."""
    env = _clean_env(ASL_DATA_DIR=str(tmp_path / "no-data-here"), PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "asl_recognition", f"trainer=[{trainer}]",
         f"trainer.{trainer}.params.compute=azure", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error: no Azure ML workspace: azure.workspace.subscription_id"), proc.stderr
    assert "config.json" in lines[-1] and len(lines) <= 3, proc.stderr
    assert "loading data" not in proc.stderr and "Traceback" not in proc.stderr


def test_cli_with_an_incomplete_config_json_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"subscription_id": "s", "workspace_name": "w"}))
    env = _clean_env(ASL_DATA_DIR=str(tmp_path / "no-data-here"), PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "asl_recognition", "trainer=[automl]", "trainer.automl.params.compute=azure",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "config.json: missing resource_group" in proc.stderr.strip().splitlines()[-1], proc.stderr

