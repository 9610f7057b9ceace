"""Workspace, authentication and compute settings: validation and the real SDK objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from asl_recognition.azure.settings import AzureSettings, ComputeSettings, load_settings
from asl_recognition.errors import ConfigurationError

pytestmark = pytest.mark.azure


def test_workspace_from_environment_variables() -> None:
    env = {"AZUREML_SUBSCRIPTION_ID": "s", "AZUREML_RESOURCE_GROUP": "g", "AZUREML_WORKSPACE_NAME": "w"}
    s = AzureSettings.from_mapping({}, environ=env)
    assert (s.workspace.subscription_id, s.workspace.resource_group, s.workspace.workspace_name) == ("s", "g", "w")
    assert s.workspace.source == "names"


def test_missing_workspace_field_is_named() -> None:
    with pytest.raises(ConfigurationError, match="resource_group.*AZUREML_RESOURCE_GROUP"):
        AzureSettings.from_mapping({"workspace": {"subscription_id": "s", "workspace_name": "w"}}, environ={})


def test_config_json_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="config_path"):
        AzureSettings.from_mapping({"workspace": {"config_path": str(tmp_path / "nope.json")}}, environ={})
    cfg = tmp_path / "config.json"
    cfg.write_text('{"subscription_id": "s", "resource_group": "g", "workspace_name": "w"}')
    assert AzureSettings.from_mapping({}, environ={"AZUREML_CONFIG": str(cfg)}).workspace.source == "config"


def test_unknown_keys_and_bad_auth_rejected() -> None:
    with pytest.raises(ConfigurationError, match="unknown key"):
        AzureSettings.from_mapping({"workspaces": {}}, environ={})
    with pytest.raises(ConfigurationError, match="auth must be one of"):
        AzureSettings.from_mapping({"workspace": {"auth": "password"}}, environ={})
    with pytest.raises(ConfigurationError, match="client_id is required"):
        AzureSettings.from_mapping({"workspace": {"auth": "service_principal", "tenant_id": "t"}}, environ={})


@pytest.mark.parametrize("idle", [None, -1, "soon"])
def test_compute_requires_a_scale_down_time(idle: object) -> None:
    with pytest.raises(ConfigurationError, match="idle_seconds_before_scaledown"):
        ComputeSettings(idle_seconds_before_scaledown=idle)  # type: ignore[arg-type]


def test_compute_node_counts_checked() -> None:
    with pytest.raises(ConfigurationError, match="min_nodes"):
        ComputeSettings(min_nodes=3, max_nodes=2)


def test_shipped_yaml_loads() -> None:
    conf = Path(__file__).resolve().parents[2] / "conf" / "azure" / "default.yaml"
    s = load_settings(conf, environ={})
    assert s.compute.idle_seconds_before_scaledown > 0
    assert s.dataset_name == "sign-language-mnist"


def test_provisioning_configuration_is_the_real_sdk_object() -> None:
    from azureml.core.compute.amlcompute import AmlComputeProvisioningConfiguration

    from asl_recognition.azure.compute import provisioning_config

    cfg = provisioning_config(ComputeSettings(gpu=True, min_nodes=0, max_nodes=10, idle_seconds_before_scaledown=600))
    assert isinstance(cfg, AmlComputeProvisioningConfiguration)
    assert cfg.vm_size == "STANDARD_NC6S_V3"
    assert (cfg.scale_settings.minimum_node_count, cfg.scale_settings.maximum_node_count) == (0, 10)
    assert cfg.scale_settings.idle_seconds_before_scaledown == 600


def test_compute_is_reused_when_present(make_gateway, azure_settings) -> None:  # type: ignore[no-untyped-def]
    from asl_recognition.azure.compute import ensure_compute

    gw = make_gateway(existing_compute="existing-target")
    assert ensure_compute(gw, azure_settings.compute) == "existing-target"
    assert gw.called("create_compute") == []
    gw = make_gateway()
    assert ensure_compute(gw, azure_settings.compute) == "asl-cpu"
    (created,) = gw.called("create_compute")
    assert created["config"].scale_settings.idle_seconds_before_scaledown == 900


def test_auth_classes_are_the_sdks_own() -> None:
    from azureml.core.authentication import (
        InteractiveLoginAuthentication,
        ServicePrincipalAuthentication,
    )

    from asl_recognition.azure.settings import WorkspaceSettings
    from asl_recognition.azure.workspace import auth_arguments, make_auth

    cls, kwargs = auth_arguments(WorkspaceSettings(auth="interactive", tenant_id="t"))
    assert cls is InteractiveLoginAuthentication and kwargs == {"tenant_id": "t"}
    sp = WorkspaceSettings(auth="service_principal", tenant_id="t", client_id="c")
    with pytest.raises(ConfigurationError, match="AZUREML_CLIENT_SECRET"):
        auth_arguments(sp, environ={})
    auth = make_auth(sp, environ={"AZUREML_CLIENT_SECRET": "x"})  # built offline, no token yet
    assert isinstance(auth, ServicePrincipalAuthentication)
    assert make_auth(WorkspaceSettings(), environ={}) is None  # SDK default (config.json search)
