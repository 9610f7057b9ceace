"""``mlflow models serve`` serves a saved model directory as it is (its MLmodel file): started on
127.0.0.1, scored over HTTP, answers the labels of the model's own predictions."""

from __future__ import annotations

import base64
import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition import load_model
from asl_recognition.testing import synthetic_dataset, synthetic_images
from asl_recognition.trainers.base import get_trainer

pytest.importorskip("mlflow")


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_mlflow_models_serve_scores_a_saved_model(http_server: Callable[..., str], png: Callable[..., bytes],
                                                  tmp_path: Path) -> None:  # fmt: skip
    labels = (0, 1, 2)
    model = get_trainer("sklearn", max_iter=50).fit(synthetic_dataset(8, labels=labels), seed=0).model
    directory = model.save(tmp_path / "model")
    url = http_server(lambda port: [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", str(directory), "--env-manager", "local",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ], "/ping", name="mlflow-models-serve")  # fmt: skip

    images = synthetic_images(np.array([0, 1, 2, 2, 1, 0]), seed=7)
    flat = images.reshape(len(images), -1).astype(int).tolist()
    expected = load_model(directory).predict(images).tolist()
    columns = [f"pixel{i}" for i in range(1, 785)]
    for body in ({"dataframe_split": {"columns": columns, "data": flat}},
                 {"dataframe_records": [dict(zip(columns, row, strict=True)) for row in flat]},
                 {"instances": images.astype(int).tolist()},  # (N, 28, 28)
                 {"inputs": flat}):  # fmt: skip
        answer = _post(url + "/invocations", body)
        assert answer == {"predictions": expected}, (next(iter(body)), answer)
    # photos: a column "image" of base64 PNGs goes through predict_photos
    photos = [png(img.astype(np.uint8), scale=4, mode="RGB") for img in images[:2]]
    answer = _post(url + "/invocations", {"dataframe_split": {
        "columns": ["image"], "data": [[base64.b64encode(p).decode()] for p in photos]}})  # fmt: skip
    assert answer == {"predictions": load_model(directory).predict_photos(photos).tolist()}
