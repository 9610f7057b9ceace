"""The scoring cycle in-process: Scorer.handle, the score.py run() adapter, model discovery."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from werkzeug.test import EnvironBuilder

from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.deploy import score
from asl_recognition.deploy._requests import ScoringLimits
from asl_recognition.deploy._scoring import Scorer, find_model_dir, limit_threads, worker_threads
from asl_recognition.errors import ConfigurationError, ModelFormatError
from asl_recognition.models import ModelMetadata, TrainedModel, register_model_type

CENTRES = np.linspace(0, 255, len(VALID_LABELS))


@register_model_type("test-brightness")
class BrightnessModel(TrainedModel):
    """Predicts the label whose 'centre' is nearest to the image's mean brightness."""

    model_type = "test-brightness"

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        mean = images.reshape(len(images), -1).mean(axis=1, keepdims=True)
        logits = -np.abs(mean - CENTRES) / 4.0
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        return {}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> BrightnessModel:
        return cls(metadata=metadata)


def _model() -> BrightnessModel:
    return BrightnessModel(metadata=ModelMetadata.create(model_type="test-brightness", backend="test"))


def _image_for(label_index: int) -> npt.NDArray[np.uint8]:
    return np.full((28, 28), round(CENTRES[label_index]), dtype=np.uint8)


def _png(arr: npt.NDArray[np.uint8]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).resize((90, 60)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _keep_thread_settings() -> Iterator[None]:
    """Scorer.from_environ caps the process's thread pools: undo that after each test."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]

    names = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    with threadpool_limits(limits=None):  # restores the original limits on exit
        yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def scorer() -> Scorer:
    return Scorer(_model(), limits=ScoringLimits(max_body_bytes=200_000), key="s3cret")


AUTH = "Bearer s3cret"


def _post(s: Scorer, doc: Any, **kw: Any) -> tuple[int, Any]:
    reply = s.handle(method="POST", body=json.dumps(doc).encode(), content_type="application/json", **kw)
    return reply.status, json.loads(reply.body)


def test_prediction_answer(scorer: Scorer) -> None:
    images = np.stack([_image_for(i) for i in (0, 5, 23)])
    status, answer = _post(scorer, {"data": images.reshape(3, -1).tolist()}, authorization=AUTH)
    assert status == 200
    assert list(answer) == ["result", "letters", "probabilities"]  # seed's "result" first
    assert answer["result"] == [0, 5, 24]
    assert answer["letters"] == ["A", "F", "Y"]
    top = answer["probabilities"][1]
    assert len(top) == 3
    assert top[0]["label"] == 5
    assert top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]
    assert all(set(c) == {"label", "letter", "probability"} for c in top)


def test_top_k_and_return_images(scorer: Scorer) -> None:
    img = _image_for(7)
    status, answer = _post(
        scorer, {"data": [img.ravel().tolist()], "top_k": 24, "return_images": True}, authorization=AUTH
    )
    assert status == 200
    assert len(answer["probabilities"][0]) == 24
    assert abs(sum(c["probability"] for c in answer["probabilities"][0]) - 1) < 1e-4
    np.testing.assert_array_equal(answer["images"][0], img)
    status, answer = _post(scorer, {"data": [img.ravel().tolist()], "top_k": 25}, authorization=AUTH)
    assert status == 400
    assert "at most 24" in answer["message"]


def test_image_upload_goes_through_preprocessing(scorer: Scorer) -> None:
    reply = scorer.handle(
        method="POST", body=_png(_image_for(10)), content_type="image/png", authorization=AUTH,
        query={"return_images": "1"},
    )  # fmt: skip
    answer = json.loads(reply.body)
    assert reply.status == 200
    assert answer["letters"] == ["L"]
    assert np.asarray(answer["images"]).shape == (1, 28, 28)


def test_key_is_enforced(scorer: Scorer) -> None:
    for auth in (None, "Bearer wrong", "s3cret", "Basic s3cret"):
        reply = scorer.handle(method="POST", body=b"[]", content_type="application/json", authorization=auth)
        assert reply.status == 401
        assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert scorer.handle(method="GET", authorization=None).status == 401
    assert scorer.handle(method="GET", authorization=AUTH).status == 200


def test_get_serves_demo_page_and_description(scorer: Scorer) -> None:
    page = scorer.handle(method="GET", accept="text/html,application/xhtml+xml")
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    assert b'id="file-input"' in page.body
    assert scorer.handle(method="GET", query={"demo": ""}).content_type.startswith("text/html")
    info = json.loads(scorer.handle(method="GET", authorization=AUTH).body)
    assert info["model"]["letters"][:3] == ["A", "B", "C"]
    assert info["limits"]["max_body_bytes"] == 200_000


def test_other_methods_and_bad_input(scorer: Scorer) -> None:
    assert scorer.handle(method="PUT", authorization=AUTH).status == 405
    status, answer = _post(scorer, {"data": [[300] * 784]}, authorization=AUTH)
    assert status == 400
    assert "pixel1" in answer["message"]


# -- the Flask adapter in score.py -----------------------------------------------------------
def _flask_request(**kw: Any) -> Any:
    from flask import Request

    return Request(EnvironBuilder(path="/score", **kw).get_environ())


@pytest.fixture
def installed(scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> Scorer:
    monkeypatch.setattr(score, "_scorer", scorer)
    return scorer


@pytest.mark.usefixtures("installed")
def test_run_adapter_answers_real_json() -> None:
    body = json.dumps({"data": [_image_for(3).ravel().tolist()]})
    resp = score.run(
        _flask_request(method="POST", data=body, content_type="application/json", headers={"Authorization": AUTH})
    )
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert json.loads(resp.get_data())["result"] == [3]


@pytest.mark.usefixtures("installed")
def test_run_adapter_refuses_large_and_unauthorised_bodies() -> None:
    big = b"[" + b"0," * 150_000 + b"0]"
    resp = score.run(
        _flask_request(method="POST", data=big, content_type="application/json", headers={"Authorization": AUTH})
    )
    assert resp.status_code == 413
    assert "limit of 200,000 bytes" in json.loads(resp.get_data())["message"]
    resp = score.run(_flask_request(method="POST", data=big, content_type="application/json"))
    assert resp.status_code == 401


def test_run_before_init_is_a_server_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(score, "_scorer", None)
    with pytest.raises(RuntimeError, match="before init"):
        score.run(_flask_request(method="GET"))


# -- model discovery ---------------------------------------------------------------------------
def test_find_model_dir_itself_and_nested(tmp_path: Path) -> None:
    saved = _model().save(tmp_path / "azureml-models" / "asl" / "3" / "model")
    assert find_model_dir(saved) == saved
    assert find_model_dir(tmp_path / "azureml-models" / "asl" / "3") == saved
    assert find_model_dir(tmp_path / "azureml-models") == saved
    _model().save(tmp_path / "azureml-models" / "asl" / "4" / "model")
    with pytest.raises(ModelFormatError, match="holds 2 model directories"):
        find_model_dir(tmp_path / "azureml-models")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ModelFormatError, match="no asl_model.json"):
        find_model_dir(tmp_path / "empty")
    with pytest.raises(ModelFormatError, match="does not exist"):
        find_model_dir(tmp_path / "missing")


def test_from_environ_and_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = _model().save(tmp_path / "v1" / "m")
    env = {"AZUREML_MODEL_DIR": str(tmp_path / "v1"), "ASL_TOP_K": "5", "ASL_MAX_ROWS": "9"}
    s = Scorer.from_environ(env)
    assert s.default_top_k == 5
    assert s.limits.max_rows == 9
    assert s.model.source_dir == saved.resolve()
    assert s.authorized(None)
    with pytest.raises(ConfigurationError, match="AZUREML_MODEL_DIR"):
        Scorer.from_environ({})
    with pytest.raises(ConfigurationError, match="ASL_TOP_K"):
        Scorer.from_environ({**env, "ASL_TOP_K": "x"})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    score.init()
    assert score._scorer is not None
    assert score._scorer.limits.max_rows == 9
    monkeypatch.setattr(score, "_scorer", None)


def test_a_product_model_is_served_from_its_directory(tmp_path: Path) -> None:
    """A product of experts (members in sub-folders) is found, loaded and answers like any model."""
    from asl_recognition.models.product import ProductModel, combine_probabilities

    product = ProductModel({"a": _model(), "b": _model()})
    product.save(tmp_path / "azureml-models" / "asl-product" / "1" / "cnn_pose")
    s = Scorer.from_environ({"AZUREML_MODEL_DIR": str(tmp_path / "azureml-models")})
    assert isinstance(s.model, ProductModel) and set(s.model.members) == {"a", "b"}
    image = np.full((1, 28, 28), 200.0)
    reply = s.handle(method="POST", body=json.dumps({"data": image.reshape(1, -1).tolist()}).encode(),
                     content_type="application/json")  # fmt: skip
    assert reply.status == 200
    alone = _model().predict_proba(image)
    expected = int(np.asarray(VALID_LABELS)[combine_probabilities([alone, alone]).argmax()])
    assert json.loads(reply.body)["result"] == [expected]


def test_worker_threads_share_the_cpus_between_workers() -> None:
    assert worker_threads({"ASL_MODEL_THREADS": "3", "WORKER_COUNT": "8"}) == 3
    assert worker_threads({"WORKER_COUNT": "10000"}) == 1
    assert worker_threads({}) >= 1
    for bad in ("0", "-2", "many"):
        with pytest.raises(ConfigurationError, match="ASL_MODEL_THREADS"):
            worker_threads({"ASL_MODEL_THREADS": bad})


def test_limit_threads_reaches_the_model() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.threads: list[int | None] = []

        def set_threads(self, threads: int | None) -> None:
            self.threads.append(threads)

    model = Recorder()
    limit_threads(1, model)  # type: ignore[arg-type]
    assert model.threads == [1]
    limit_threads(1, _model())  # models without a thread pool of their own are fine


def test_onnx_model_threads_keep_predictions() -> None:
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from asl_recognition.errors import InvalidParameterError
    from asl_recognition.models.onnx import OnnxModel

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 784)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    clf = LogisticRegression(max_iter=50).fit(x / 255, y)
    onx = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}})
    meta = ModelMetadata.create(
        model_type="onnx",
        backend="test",
        labels=(0, 1),
        extra={"onnx": {"input_layout": "flat", "input_scale": 1 / 255}},
    )
    model = OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString())
    before = model.predict_proba(x[:8])
    limit_threads(1, model)
    np.testing.assert_allclose(model.predict_proba(x[:8]), before, rtol=1e-6)
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InvalidParameterError, match="threads"):
            model.set_threads(bad)  # type: ignore[arg-type]
