"""The OIP v2 service end to end: real KServe server processes, real HTTP on 127.0.0.1, real data.

One server per model flavour (sklearn, Keras served by Keras, the same Keras network served
through its ONNX export, a generic ONNX model, a product of experts), each sent real Sign MNIST
rows and real photos; the letters must be those the same model gives in-process. The photo-native
model is served in ``test_photo_model_real.py`` (where it is trained).
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import requests

from asl_recognition import get_trainer, load_model
from asl_recognition.data import Dataset
from asl_recognition.data.letters import label_to_letter
from asl_recognition.deploy import Service, get_deployer
from asl_recognition.deploy._requests import ScoringRequest
from asl_recognition.deploy._scoring import Scorer
from asl_recognition.deploy.client import predict_command
from asl_recognition.deploy.oip import OipService
from asl_recognition.errors import RequestError
from asl_recognition.images import observe_image
from asl_recognition.models import TrainedModel

pytestmark = [pytest.mark.serve, pytest.mark.realdata]

KEY = "oip-k3y"
AUTH = {"Authorization": f"Bearer {KEY}"}
N_ROWS = 24


@pytest.fixture(scope="module")
def small_train(real_train: Dataset) -> Dataset:
    return real_train.subset(np.arange(0, len(real_train), 6))


@pytest.fixture(scope="module")
def rows(real_test: Dataset) -> npt.NDArray[np.uint8]:
    """Real Sign MNIST test rows, (N, 784) uint8."""
    idx = np.linspace(0, len(real_test) - 1, N_ROWS).astype(int)
    return np.asarray(real_test.images[idx], dtype=np.uint8).reshape(N_ROWS, -1)


@pytest.fixture(scope="module")
def photo_files(photos_dir: Path) -> list[Path]:
    """A few real dev photos (JPEG files as users send them)."""
    files = sorted(p for p in photos_dir.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return files[:: max(1, len(files) // 4)][:4]  # four letters, four people


@pytest.fixture(scope="module")
def model_dirs(small_train: Dataset, onnx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("oip-models")
    sk = get_trainer("sklearn", estimator="logistic", max_iter=60).fit(small_train, seed=0).model
    cnn = get_trainer("cnn", epochs=1, augment=False, batch_size=128).fit(small_train, seed=0).model
    product = get_trainer("product", members={"logistic": sk, "cnn": cnn}).fit(small_train, seed=0).model
    return {
        "sklearn": sk.save(root / "sklearn"),
        "keras": cnn.save(root / "keras"),
        "onnx": onnx_model_dir,
        "product": product.save(root / "product"),
    }


# runtime "native": Keras serves the Keras model; the "onnx-export" server serves the same
# directory through its ONNX export (the default, fastest runtime)
_SERVED = {
    "sklearn": ("sklearn", "native"),
    "keras": ("keras", "native"),
    "onnx-export": ("keras", "fastest"),
    "onnx": ("onnx", "fastest"),
    "product": ("product", "fastest"),
}


@pytest.fixture(scope="module")
def services(model_dirs: dict[str, Path]) -> Iterator[dict[str, OipService]]:
    started: dict[str, OipService] = {}
    try:
        for name, (model, runtime) in _SERVED.items():
            svc = get_deployer("oip", key=KEY, workers=1, runtime=runtime).deploy(model_dirs[model])
            assert isinstance(svc, OipService)
            assert isinstance(svc, Service)
            started[name] = svc
        yield started
    finally:
        for svc in started.values():
            svc.delete()


def _in_process(model: TrainedModel, *, pixels: Any = None, photos: list[Path] | None = None) -> list[str]:
    """The letters the scoring path gives in this process (what the server must answer)."""
    scorer = Scorer(model)
    if photos is not None:
        observations = tuple(observe_image(p) for p in photos)
        images = np.stack([o.image for o in observations]).astype(np.float32)
        request = ScoringRequest(images=images, observations=observations)
    else:
        request = ScoringRequest(images=np.asarray(pixels, np.float32).reshape(-1, 28, 28))
    return list(scorer.predict(request)["letters"])


def _pixels_body(
    rows: npt.NDArray[np.uint8], *, datatype: str = "UINT8", shape: list[int] | None = None
) -> dict[str, Any]:
    data = rows.ravel().tolist() if datatype == "UINT8" else rows.astype(np.float32).ravel().tolist()
    return {"inputs": [{"name": "pixels", "datatype": datatype, "shape": shape or list(rows.shape), "data": data}]}


def _images_body(files: list[Path]) -> dict[str, Any]:
    encoded = [base64.b64encode(p.read_bytes()).decode("ascii") for p in files]
    return {"inputs": [{"name": "images", "datatype": "BYTES", "shape": [len(files)], "data": encoded}]}


def _images_tensor(data: list[str]) -> dict[str, Any]:
    return {"inputs": [{"name": "images", "datatype": "BYTES", "shape": [len(data)], "data": data}]}


def _letters(answer: dict[str, Any]) -> list[str]:
    (letter,) = [o for o in answer["outputs"] if o["name"] == "letter"]
    return list(letter["data"])


@pytest.mark.parametrize("served", list(_SERVED))
def test_every_flavour_answers_real_rows_and_photos_as_in_process(
    served: str,
    services: dict[str, OipService],
    model_dirs: dict[str, Path],
    rows: npt.NDArray[np.uint8],
    photo_files: list[Path],
) -> None:
    svc = services[served]
    model_dir, runtime = model_dirs[_SERVED[served][0]], _SERVED[served][1]
    model = load_model(model_dir, prefer="onnx" if runtime == "fastest" else None)
    expected = _in_process(model, pixels=rows)
    for body in (_pixels_body(rows), _pixels_body(rows, datatype="FP32", shape=[N_ROWS, 28, 28])):
        resp = requests.post(svc.scoring_uri, json=body, headers=AUTH, timeout=60)
        assert resp.status_code == 200, resp.text
        assert _letters(resp.json()) == expected
    answer = requests.post(svc.scoring_uri, json=_pixels_body(rows), headers=AUTH, timeout=60).json()
    outputs = {o["name"]: o for o in answer["outputs"]}
    proba = np.asarray(outputs["probabilities"]["data"]).reshape(outputs["probabilities"]["shape"])
    assert proba.shape == (N_ROWS, len(model.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    assert outputs["label"]["data"] == [model.labels[i] for i in proba.argmax(axis=1)]
    photos = requests.post(svc.scoring_uri, json=_images_body(photo_files), headers=AUTH, timeout=60)
    assert photos.status_code == 200, photos.text
    assert _letters(photos.json()) == _in_process(model, photos=photo_files)
    # the Python client speaks OIP too, answering in the /score format
    client = svc.client()
    assert client.predict_pixels(rows[:4])["letters"] == expected[:4]
    assert predict_command(photo_files[:2], uri=svc.scoring_uri, key=KEY, protocol="oip", top_k=2)[0]["letter"] == (
        _in_process(model, photos=photo_files[:1])[0]
    )
    assert svc.state == "Healthy"


def test_health_metadata_and_key(services: dict[str, OipService], model_dirs: dict[str, Path]) -> None:
    svc = services["sklearn"]
    assert requests.get(f"{svc.base_uri}/v2/health/live", timeout=10).json() == {"live": True}
    assert requests.get(f"{svc.base_uri}/v2/health/ready", timeout=10).json() == {"ready": True}
    assert requests.get(svc.metadata_uri, timeout=10).status_code == 401
    meta = requests.get(svc.metadata_uri, headers=AUTH, timeout=10).json()
    model = load_model(model_dirs["sklearn"])
    assert meta["name"] == svc.model_name == "asl-sklearn"
    assert {t["name"]: t["datatype"] for t in meta["inputs"]} == {"pixels": "FP32", "images": "BYTES"}
    assert [t["name"] for t in meta["outputs"]] == ["label", "letter", "probabilities"]
    assert meta["outputs"][2]["shape"] == [-1, len(model.labels)]
    assert meta["parameters"]["letters"] == list(model.letters)
    assert meta["parameters"]["labels"] == list(model.labels)
    missing = requests.get(f"{svc.base_uri}/v2/models/nope", headers=AUTH, timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()
    unauth = requests.post(svc.scoring_uri, json={"inputs": []}, timeout=10)
    assert unauth.status_code == 401 and unauth.headers["www-authenticate"] == "Bearer"
    assert "error" in unauth.json()
    unload = requests.post(f"{svc.base_uri}/v2/repository/models/{svc.model_name}/unload", headers=AUTH, timeout=10)
    assert unload.status_code == 404 and "error" in unload.json()
    assert requests.get(f"{svc.base_uri}/v1/models/{svc.model_name}", timeout=10).status_code == 401
    assert requests.get(f"{svc.base_uri}/v2/models/{svc.model_name}/ready", headers=AUTH, timeout=10).status_code == 200
    assert svc.swagger_uri is None
    assert svc.base_uri.startswith("http://127.0.0.1:")


def _bad_bodies(rows: npt.NDArray[np.uint8]) -> list[tuple[bytes, dict[str, str], int]]:
    """(body, headers, expected status) for requests the service must refuse with a 4xx."""
    json_ct = {"Content-Type": "application/json", **AUTH}
    row = rows[:1]

    def body(obj: Any) -> bytes:
        return json.dumps(obj).encode()

    return [
        (b"{not json", json_ct, 400),
        (body({"inputs": "nope"}), json_ct, 400),
        (body({"inputs": []}), json_ct, 400),
        (body(_pixels_body(row, shape=[1, 783])), json_ct, 400),
        (body(_pixels_body(row.reshape(1, 28, 28)[:, :3, :3].reshape(1, 9))), json_ct, 400),
        (body(_pixels_body(np.full((1, 784), 255, np.uint8)) | {"parameters": {"top_k": 0}}), json_ct, 400),
        (body(_pixels_body(np.full((1, 784), 999.0), datatype="FP32")), json_ct, 400),
        (body({"inputs": [{"name": "pixels", "datatype": "BYTES", "shape": [1], "data": ["x"]}]}), json_ct, 400),
        (body(_images_tensor(["not base64!"])), json_ct, 400),
        (body(_images_tensor([base64.b64encode(b"\x89PNG\r\n\x1a\nbroken").decode()])), json_ct, 400),
        (body({"inputs": [{"name": "other", "datatype": "FP32", "shape": [1], "data": [1.0]}]}), json_ct, 400),
        (body(_pixels_body(np.zeros((1100, 784), np.uint8))), json_ct, 413),
        (b"0" * (17 * 1024 * 1024), json_ct, 413),
        (b'{"inputs": []}', {"Content-Type": "application/octet-stream", **AUTH}, 400),
        (body(_pixels_body(row)), {"Content-Type": "application/json"}, 401),
    ]


def test_bad_requests_get_oip_errors_with_4xx(services: dict[str, OipService], rows: npt.NDArray[np.uint8]) -> None:
    svc = services["onnx"]
    for body, headers, status in _bad_bodies(rows):
        resp = requests.post(svc.scoring_uri, data=body, headers=headers, timeout=30)
        assert resp.status_code == status, (body[:80], resp.text)
        assert isinstance(resp.json()["error"], str) and resp.json()["error"]
    with pytest.raises(RequestError) as info:
        svc.run({"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 3], "data": [1, 2, 3]}]})
    assert info.value.status == 400 and "(N, 28, 28) or (N, 784)" in str(info.value)
    assert svc.state == "Healthy"


def test_a_third_party_oip_client_gets_the_letters(
    services: dict[str, OipService], model_dirs: dict[str, Path], rows: npt.NDArray[np.uint8], photo_files: list[Path]
) -> None:
    """``tritonclient.http``, unmodified: binary tensors in and out, JSON, base64 BYTES photos."""
    import tritonclient.http as triton

    svc = services["onnx-export"]
    model = load_model(model_dirs["keras"], prefer="onnx")
    client = triton.InferenceServerClient(svc.base_uri.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(svc.model_name, headers=AUTH)
    meta = client.get_model_metadata(svc.model_name, headers=AUTH)
    assert meta["parameters"]["letters"] == list(model.letters)
    for binary in (True, False):
        pixels = triton.InferInput("pixels", [N_ROWS, 28, 28], "UINT8")
        pixels.set_data_from_numpy(rows.reshape(N_ROWS, 28, 28), binary_data=binary)
        wanted = [triton.InferRequestedOutput(n, binary_data=binary) for n in ("letter", "probabilities")]
        result = client.infer(svc.model_name, [pixels], outputs=wanted, headers=dict(AUTH))  # it adds headers
        letters = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("letter").tolist()]
        assert letters == _in_process(model, pixels=rows)
        assert result.as_numpy("probabilities").shape == (N_ROWS, len(model.labels))
    # photos: base64 text in JSON, and (below) the files' raw bytes as binary tensors
    photos = triton.InferInput("images", [len(photo_files)], "BYTES")
    encoded = [base64.b64encode(p.read_bytes()) for p in photo_files]
    photos.set_data_from_numpy(np.array(encoded, dtype=np.object_), binary_data=False)
    result = client.infer(svc.model_name, [photos], headers=dict(AUTH))
    assert [x.decode() for x in result.as_numpy("letter").tolist()] == _in_process(model, photos=photo_files)
    bad_photo = triton.InferInput("images", [1], "BYTES")
    bad_photo.set_data_from_numpy(np.array([b"\xff\xd8 not a JPEG"], dtype=np.object_), binary_data=True)
    with pytest.raises(Exception, match=r"\[400\].*not a readable image"):
        client.infer(svc.model_name, [bad_photo], headers=dict(AUTH))
    bad = triton.InferInput("pixels", [1, 3], "UINT8")
    bad.set_data_from_numpy(np.zeros((1, 3), np.uint8))
    with pytest.raises(Exception, match=r"\[400\].*must have shape"):
        client.infer(svc.model_name, [bad], headers=dict(AUTH))


def test_tritonclient_sends_raw_photo_bytes(
    services: dict[str, OipService], model_dirs: dict[str, Path], photo_files: list[Path]
) -> None:
    """Raw JPEG bytes with ``binary_data=True`` (the binary tensor extension), answered in JSON and
    as binary tensors: the letters and probabilities of ``predict_photos`` in this process."""
    import tritonclient.http as triton

    svc = services["onnx-export"]
    model = load_model(model_dirs["keras"], prefer="onnx")
    expected = [label_to_letter(y) for y in model.predict_photos(photo_files)]
    client = triton.InferenceServerClient(svc.base_uri.removeprefix("http://"))
    raw = triton.InferInput("images", [len(photo_files)], "BYTES")
    raw.set_data_from_numpy(np.array([p.read_bytes() for p in photo_files], dtype=np.object_), binary_data=True)
    for binary in (False, True):
        wanted = [triton.InferRequestedOutput(n, binary_data=binary) for n in ("letter", "probabilities", "label")]
        result = client.infer(svc.model_name, [raw], outputs=wanted, headers=dict(AUTH))
        letters = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("letter").tolist()]
        assert letters == expected
        np.testing.assert_allclose(result.as_numpy("probabilities"), model.predict_photos_proba(photo_files),
                                   atol=1e-5)  # fmt: skip
        assert result.as_numpy("label").tolist() == model.predict_photos(photo_files).tolist()
    first = client.infer(svc.model_name, [raw], headers=dict(AUTH))  # all outputs, as the request's default
    assert first.as_numpy("letter").tolist()[0] in (expected[0], expected[0].encode())


def test_binary_requests_are_checked_and_answered_in_binary(
    services: dict[str, OipService], photo_files: list[Path]
) -> None:
    """The binary extension by hand: a binary answer when asked for, and 400s for bodies that do
    not add up (sizes, header length, element lengths)."""
    import struct

    svc = services["onnx"]
    photo = photo_files[0].read_bytes()
    element = struct.pack("<I", len(photo)) + photo

    def send(header: dict[str, Any], tail: bytes, *, json_length: int | None = None,
             content_type: str | None = None) -> requests.Response:  # fmt: skip
        head = json.dumps(header).encode()
        length = len(head) if json_length is None else json_length
        extra = {} if content_type is None else {"Content-Type": content_type}
        return requests.post(svc.scoring_uri, data=head + tail, timeout=60,
                             headers={**AUTH, **extra, "Inference-Header-Content-Length": str(length)})  # fmt: skip

    tensor = {"name": "images", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(element)}}
    ok = send({"inputs": [tensor], "parameters": {"binary_data_output": True}}, element)
    assert ok.status_code == 200, ok.text
    json_length = int(ok.headers["inference-header-content-length"])
    answer = json.loads(ok.content[:json_length])
    assert [o["name"] for o in answer["outputs"]] == ["label", "letter", "probabilities"]
    assert all("data" not in o and o["parameters"]["binary_data_size"] > 0 for o in answer["outputs"])
    assert len(ok.content) == json_length + sum(o["parameters"]["binary_data_size"] for o in answer["outputs"])
    for content_type in ("application/json", "application/octet-stream"):  # whatever the client calls it
        labelled = send({"inputs": [tensor]}, element, content_type=content_type)
        assert labelled.status_code == 200, labelled.text
        assert _letters(labelled.json()) == _letters(send({"inputs": [tensor]}, element).json())
    bad = [
        send({"inputs": [tensor]}, element[:-1]),  # shorter than binary_data_size
        send({"inputs": [tensor]}, element + b"extra"),  # bytes nothing describes
        send({"inputs": [tensor]}, element, json_length=7),  # the header is not 7 bytes long
        send({"inputs": [dict(tensor, parameters={})]}, element),  # no data, no size
        send({"inputs": [tensor]}, struct.pack("<I", len(photo) + 9) + photo),  # element longer than the tensor
        send({"inputs": [dict(tensor, shape=[2])]}, element),  # one element, shape says two
    ]
    for resp in bad:
        assert resp.status_code == 400, resp.text
        assert set(resp.json()) == {"error"}
    assert svc.state == "Healthy"


def test_concurrent_mixed_requests(
    services: dict[str, OipService], model_dirs: dict[str, Path], rows: npt.NDArray[np.uint8], photo_files: list[Path]
) -> None:
    """Many threads at once: every good request gets the in-process answer, every bad one a 4xx."""
    svc = services["sklearn"]
    model = load_model(model_dirs["sklearn"], prefer=None)
    row_letters = _in_process(model, pixels=rows)
    photo_letters = _in_process(model, photos=photo_files)
    bad = _bad_bodies(rows)
    jobs: list[tuple[str, Any, Any]] = []
    for i in range(120):
        kind = ("rows", "photo", "bad")[i % 3]
        if kind == "rows":
            k = i % N_ROWS
            jobs.append((kind, _pixels_body(rows[k : k + 3]), row_letters[k : k + 3]))
        elif kind == "photo":
            k = i % len(photo_files)
            jobs.append((kind, _images_body([photo_files[k]]), [photo_letters[k]]))
        else:
            jobs.append((kind, bad[i % len(bad)], None))

    session = requests.Session()

    def send(job: tuple[str, Any, Any]) -> tuple[str, int, Any, Any]:
        kind, payload, expected = job
        if kind == "bad":
            body, headers, status = payload
            resp = requests.post(svc.scoring_uri, data=body, headers=headers, timeout=60)
            return kind, resp.status_code, status, resp.json().get("error")
        resp = session.post(svc.scoring_uri, json=payload, headers=AUTH, timeout=60)
        return kind, resp.status_code, expected, _letters(resp.json()) if resp.status_code == 200 else resp.text

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(send, jobs))
    assert time.monotonic() - start < 120
    for kind, status, expected, got in results:
        assert status < 500, (kind, status, got)
        if kind == "bad":
            assert status == expected and got, (status, expected, got)
        else:
            assert status == 200 and got == expected, (kind, status, got, expected)
    assert svc.state == "Healthy"


def test_delete_stops_every_worker(onnx_model_dir: Path) -> None:
    svc = get_deployer("oip", workers=2).deploy(onnx_model_dir)
    assert isinstance(svc, OipService)
    pgid = svc.pid
    assert requests.get(f"{svc.base_uri}/v2/health/ready", timeout=10).status_code == 200
    assert svc.get_logs().count("ready for serving traffic") == 2
    svc.delete()
    svc.delete()
    assert svc.state == "Deleted"
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
