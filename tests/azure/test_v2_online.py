"""azure_online deployer offline: the real ManagedOnlineEndpoint / ManagedOnlineDeployment /
Environment / CodeConfiguration, sent through a real MLClient with recorded operations; the
recorded deployment's own model and scoring code answer ``invoke``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.azure
pytest.importorskip("azure.ai.ml", reason="needs the azure extra")


@pytest.fixture
def saved_model(tmp_path: Path) -> Path:
    from asl_recognition.testing import synthetic_dataset
    from asl_recognition.trainers.base import get_trainer

    return get_trainer("sklearn", max_iter=50).fit(synthetic_dataset(4)).model.save(tmp_path / "model")


def test_deploy_invoke_traffic_logs_delete(saved_model: Path, make_v2: Any, v2_azure: Any) -> None:
    from azure.ai.ml.entities import Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint

    from asl_recognition.deploy.base import Service, get_deployer
    from asl_recognition.deploy.score import __file__ as score_file

    rec = make_v2()
    deployer = get_deployer("azure_online", azure=v2_azure, ml_client=rec.client, instance_count=2,
                            tags={"team": "asl"})  # fmt: skip
    service = deployer.deploy(saved_model, name="asl-test-endpoint")
    assert isinstance(service, Service)

    # what would have been sent: endpoint (key auth), deployment, then all traffic to it
    endpoint_calls = rec.called("online_endpoints.begin_create_or_update")
    assert [c["traffic"] for c in endpoint_calls] == [{}, {"blue": 100}]
    endpoint = endpoint_calls[0]["endpoint"]
    assert isinstance(endpoint, ManagedOnlineEndpoint) and endpoint.auth_mode == "key"
    assert endpoint.tags["backend"] == "sklearn" and endpoint.tags["team"] == "asl"
    (sent,) = rec.called("online_deployments.begin_create_or_update")
    deployment = sent["deployment"]
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert (deployment.name, deployment.endpoint_name) == ("blue", "asl-test-endpoint")
    assert (deployment.instance_type, deployment.instance_count) == ("Standard_DS3_v2", 2)
    assert deployment.code_configuration.scoring_script == "asl_recognition/deploy/score.py"
    assert sent["script_exists"] and rec.deployed_script == Path(score_file).read_bytes()  # unchanged score.py
    assert deployment.model.type == "custom_model" and "asl_model.json" in sent["model_files"]
    env = deployment.environment
    assert isinstance(env, Environment)
    pip = env.conda_file["dependencies"][-1]["pip"]
    assert any(p.startswith("azureml-inference-server-http==") for p in pip)
    assert any(p.startswith("scikit-image==") for p in pip)  # the images extra (HOG, photo localizer)
    rest = deployment._to_rest_object(location="westeurope")
    assert rest.properties.instance_type == "Standard_DS3_v2"

    # the running service, as the double replays it
    assert service.state == "Healthy" and service.traffic == {"blue": 100}
    assert service.scoring_uri.endswith(".inference.ml.azure.com/score")
    assert service.swagger_uri is not None
    assert service.keys() == ("primary-key", "secondary-key")
    answer = service.invoke({"data": [{f"pixel{i}": 0 for i in range(1, 785)}]})
    assert answer["result"] and isinstance(answer["result"][0], int)
    (invoked,) = rec.called("online_endpoints.invoke")
    assert invoked["deployment_name"] == "blue" and json.loads(invoked["body"])["data"][0]["pixel1"] == 0
    assert service.get_logs() == "container log line"
    service.set_traffic({"blue": 100})
    from asl_recognition.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="sum to 100"):
        service.set_traffic({"blue": 50})
    service.delete()
    service.delete()
    assert rec.called("online_endpoints.begin_delete") == [{"name": "asl-test-endpoint"}]
    assert service.state == "Deleted"


def test_deploy_checks_its_input(tmp_path: Path, make_v2: Any, v2_azure: Any) -> None:
    from asl_recognition.deploy.base import get_deployer
    from asl_recognition.errors import ConfigurationError, InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'instance_count' must be"):
        get_deployer("azure_online", azure=v2_azure, instance_count=0)
    deployer = get_deployer("azure_online", azure=v2_azure, ml_client=make_v2().client)
    with pytest.raises(ConfigurationError, match="cannot deploy"):
        deployer.deploy(tmp_path / "not-a-model")


def test_deploy_config_composes_with_the_typed_schema() -> None:
    from hydra.errors import ConfigCompositionException
    from omegaconf import OmegaConf

    from asl_recognition._schemas import register_schemas
    from asl_recognition.config import compose

    register_schemas()
    cfg = compose("deploy", ["model=/m", "deployer=azure_online", "deployer.params.instance_count=3"])
    plain = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(plain, dict)
    assert plain["deployer"]["name"] == "azure_online"
    assert plain["deployer"]["params"]["instance_count"] == 3
    assert plain["deployer"]["params"]["endpoint_name"] == "asl-recognition"
    assert plain["deployer"]["params"]["azure"] is None  # filled from the shared azure group
    with pytest.raises(ConfigCompositionException, match="instance_typo"):
        compose("deploy", ["model=/m", "deployer=azure_online", "deployer.params.instance_typo=1"])
