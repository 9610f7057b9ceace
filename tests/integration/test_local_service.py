"""The local deployer end to end: real inference server subprocess, real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import requests

from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.deploy import get_deployer
from asl_recognition.deploy._requests import PIXEL_KEYS
from asl_recognition.deploy.client import ScoringClient, predict_command
from asl_recognition.deploy.local import LocalService
from asl_recognition.errors import DeploymentError, ModelFormatError, RequestError

pytestmark = pytest.mark.serve

ImageFn = Callable[..., npt.NDArray[np.uint8]]

LABELS = [0, 5, 11, 24]


@pytest.fixture(scope="module")
def service(onnx_model_dir: Path) -> Iterator[LocalService]:
    svc = get_deployer("local", key="k3y", workers=2).deploy(onnx_model_dir, name="asl-test")
    assert isinstance(svc, LocalService)
    yield svc
    svc.delete()


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_seed_client_works_unchanged(service: LocalService, letter: ImageFn) -> None:
    """The seed project's client code, verbatim apart from the data source."""
    test_data = pd.DataFrame(
        np.stack([letter(lab, noise=8, seed=1) for lab in LABELS]).reshape(len(LABELS), -1),
        columns=PIXEL_KEYS,
    )
    test_data.index = range(1, len(LABELS) + 1)
    testdict = test_data.to_dict(orient="index")
    input_list = tuple(testdict[i] for i in range(1, len(LABELS) + 1))
    input_data = json.dumps({"data": input_list})
    headers = {"Content-Type": "application/json", "Authorization": "Bearer k3y"}
    resp = requests.post(service.scoring_uri, input_data, headers=headers, timeout=30)
    assert resp.status_code == 200
    assert resp.json()["result"] == LABELS


def test_image_formats_over_http(
    service: LocalService, tmp_path: Path, letter: ImageFn, png: Callable[..., bytes]
) -> None:
    img = letter(11)
    auth = {"Authorization": "Bearer k3y"}
    raw = requests.post(
        service.scoring_uri + "?return_images=true",
        data=png(img, scale=10, mode="RGB"),
        headers={**auth, "Content-Type": "image/png"},
        timeout=30,
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["letters"] == ["L"]
    assert np.abs(np.asarray(raw.json()["images"][0]) - img).max() <= 1
    files = [("file", (f"{i}.png", png(letter(lab), scale=3), "image/png")) for i, lab in enumerate(LABELS)]
    multi = requests.post(service.scoring_uri, files=files, data={"top_k": "2"}, headers=auth, timeout=30)
    assert multi.status_code == 200, multi.text
    assert multi.json()["result"] == LABELS
    assert len(multi.json()["probabilities"][0]) == 2
    paths = []
    for lab in LABELS[:2]:
        paths.append(tmp_path / f"{lab}.png")
        paths[-1].write_bytes(png(letter(lab), scale=5))
    client = ScoringClient(service.scoring_uri, key="k3y")
    assert client.predict(paths)["result"] == LABELS[:2]
    assert client.predict(np.stack([letter(lab) for lab in LABELS]))["result"] == LABELS
    rows = predict_command(paths, uri=service.scoring_uri, key="k3y", top_k=4)
    assert [r["letter"] for r in rows] == ["A", "F"]
    assert len(rows[0]["probabilities"]) == 4


def test_bad_requests_get_4xx_and_workers_survive(service: LocalService, letter: ImageFn) -> None:
    auth = {"Authorization": "Bearer k3y"}
    cases = [
        (b"{not json", "application/json", 400),
        (json.dumps({"data": [[1, 2, 3]]}).encode(), "application/json", 400),
        (json.dumps({"data": [[float("nan")] * 784]}).encode(), "application/json", 400),
        (json.dumps({"data": [[999] * 784]}).encode(), "application/json", 400),
        (b"\x89PNG\r\n\x1a\nbroken", "image/png", 400),
        (b"hello", "text/plain", 415),
        (b"0" * (17 * 1024 * 1024), "application/json", 413),
        (json.dumps({"data": [[0] * 784] * 2000}).encode(), "application/json", 413),
    ]
    for body, ctype, status in cases:
        resp = requests.post(service.scoring_uri, data=body, headers={**auth, "Content-Type": ctype}, timeout=30)
        assert resp.status_code == status, (ctype, resp.text)
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.json()["message"]
    unauth = requests.post(service.scoring_uri, json={"data": [[0] * 784]}, timeout=30)
    assert unauth.status_code == 401
    with pytest.raises(RequestError, match="401"):
        ScoringClient(service.scoring_uri).predict(np.zeros((1, 784)))
    with pytest.raises(RequestError) as info:
        service.run({"data": "nope"})
    assert info.value.status == 400
    assert service.run({"data": [letter(24).ravel().tolist()]})["letters"] == ["Y"]
    assert service.state == "Healthy"
    logs = service.get_logs()
    assert "Worker exiting" not in logs
    # the library's own lines reach the server log; the per-request lines are off by default
    assert "rejected request (415): unsupported Content-Type 'text/plain'" in logs
    assert "compute thread(s)" in logs
    assert "POST /score" not in logs


def test_swagger_demo_page_and_health(service: LocalService) -> None:
    doc2 = json.load(urllib.request.urlopen(service.swagger_uri, timeout=10))
    doc3 = json.load(urllib.request.urlopen(service.swagger_uri + "?version=3", timeout=10))
    assert doc2["swagger"] == "2.0"
    assert "/score" in doc2["paths"]
    assert doc3["openapi"].startswith("3.0")
    page = requests.get(service.scoring_uri, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert 'id="file-input"' in page.text
    assert requests.get(service.base_uri + "/", timeout=10).text.strip() == "Healthy"
    assert service.port > 0
    assert service.scoring_uri.startswith("http://127.0.0.1:")


def test_failed_start_reports_the_log_and_leaves_nothing(
    onnx_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in onnx_model_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    scratch = tmp_path / "tmp"  # this test's own temporary folder: other workers' servers stay out
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(DeploymentError, match=r"(?s)exited with code.*not a loadable ONNX model"):
        get_deployer("local", startup_timeout_s=90).deploy(broken)
    assert list(scratch.glob("asl-serve-*")) == []
    with pytest.raises(ModelFormatError):
        get_deployer("local").deploy(tmp_path / "no-model-here")


def test_delete_stops_the_process_group_and_predict_from_model_dir(
    onnx_model_dir: Path, tmp_path: Path, letter: ImageFn, png: Callable[..., bytes]
) -> None:
    svc = get_deployer("local").deploy(onnx_model_dir)
    pid = svc.pid
    assert _alive(pid)
    svc.delete()
    svc.delete()  # idempotent
    assert svc.state == "Deleted"
    assert not _alive(pid)
    assert "ready for serving traffic" in svc.get_logs()
    img = tmp_path / "x.png"
    img.write_bytes(png(letter(VALID_LABELS[7]), scale=4))
    rows = predict_command([img], model_dir=onnx_model_dir)
    assert rows[0]["label"] == VALID_LABELS[7]
    assert rows[0]["input"] == str(img)
    assert rows[0]["hand"] is None  # a greyscale letter image: no hand to find, the centre is read


def test_a_free_port_taken_before_the_server_binds_it_is_retried(
    onnx_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race between probing a free port and the server binding it (parallel test workers)."""
    from asl_recognition.deploy import local

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        probes: list[int] = []
        real = local._free_port

        def first_taken(host: str) -> int:
            probes.append(taken if not probes else real(host))
            return probes[-1]

        monkeypatch.setattr(local, "_free_port", first_taken)
        with get_deployer("local", workers=1).deploy(onnx_model_dir) as svc:
            assert svc.port != taken
            assert requests.get(svc.base_uri + "/", timeout=10).status_code == 200
    assert probes[0] == taken and len(probes) == 2
