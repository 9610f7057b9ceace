"""ACI deployer offline: the real InferenceConfig / AciWebservice configuration, the deploy
call recorded at the boundary, and AciService.run over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition.errors import ConfigurationError, InvalidParameterError

pytestmark = pytest.mark.azure


@pytest.fixture
def saved_model(tmp_path: Path) -> Path:
    from asl_recognition.testing import synthetic_dataset
    from asl_recognition.trainers.base import get_trainer

    return get_trainer("sklearn", max_iter=50).fit(synthetic_dataset(4)).model.save(tmp_path / "model")


@pytest.fixture
def scoring_server() -> Any:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"auth": self.headers.get("Authorization"), "body": json.loads(body)})
            out = json.dumps({"result": [0], "letters": ["A"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/score", seen
    server.shutdown()


def test_deploy_sends_real_sdk_configs(
    saved_model: Path, tmp_path: Path, make_gateway: Any, scoring_server: Any
) -> None:
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice.aci import AciServiceDeploymentConfiguration

    from asl_recognition.deploy.base import Service, get_deployer

    uri, seen = scoring_server
    wheel = tmp_path / "asl_recognition-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    gw = make_gateway()
    gw.service_uri = uri
    deployer = get_deployer("aci", cpu_cores=1, memory_gb=2, wheel=str(wheel), gateway=gw, azure={"show_output": False})
    service = deployer.deploy(saved_model, name="asl-test")
    assert isinstance(service, Service)

    (registered,) = gw.called("register_model")
    assert registered["path"].name == saved_model.name and registered["tags"]["backend"] == "sklearn"
    # the saved model as it is, plus the hand models the container cannot download
    saved = {str(p.relative_to(saved_model)) for p in saved_model.rglob("*") if p.is_file()}
    bundled = {f"hand_models/{f}" for f in ("palm_detection_full.tflite", "hand_landmark_full.tflite", "NOTICE.txt")}
    assert set(registered["files"]) == saved | bundled
    (call,) = gw.called("deploy")
    assert call["name"] == "asl-test" and call["overwrite"] is True
    inf = call["inference_config"]
    assert isinstance(inf, InferenceConfig) and inf.entry_script == "score.py"
    assert (Path(inf.source_directory) / "score.py").is_file()
    pip = list(inf.environment.python.conda_dependencies.pip_packages)
    assert any(p.startswith("azureml-inference-server-http==") for p in pip)
    assert "azureml-defaults" in pip and pip[-1].endswith(wheel.name)
    dep = call["deployment_config"]
    assert isinstance(dep, AciServiceDeploymentConfiguration)
    assert (dep.cpu_cores, dep.memory_gb, dep.auth_enabled) == (1, 2, True)
    assert gw.called("wait_for_deployment")

    # the service handle: state, logs, keys, run over real HTTP with the key, update, delete
    assert service.state == "Healthy" and service.get_logs() == "container log line"
    pixels = np.zeros((1, 784), dtype=int).tolist()
    assert service.run({"data": pixels}) == {"result": [0], "letters": ["A"]}
    assert seen[0]["auth"] == "Bearer primary-key" and seen[0]["body"] == {"data": pixels}
    service.update(auth_enabled=True)
    assert gw.called("update_service")[0]["changes"] == {"auth_enabled": True}
    service.delete()
    service.delete()
    assert len(gw.called("delete_service")) == 1 and service.state == "Deleted"


def test_bad_settings_fail_before_any_call(tmp_path: Path, make_gateway: Any) -> None:
    from asl_recognition.deploy.base import get_deployer

    with pytest.raises(InvalidParameterError, match="service_name"):
        get_deployer("aci", service_name="x")
    gw = make_gateway()
    with pytest.raises(ConfigurationError, match="memory_gb"):
        get_deployer("aci", memory_gb=0, gateway=gw).deploy(tmp_path)
    with pytest.raises(ConfigurationError, match="cannot deploy"):
        get_deployer("aci", gateway=gw).deploy(tmp_path / "missing")
    assert gw.calls == []
