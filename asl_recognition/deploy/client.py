"""A Python client for the scoring service, and the ``predict`` command behind the CLI.

:class:`ScoringClient` talks to any deployment of ``score.py`` (local or Azure) with the
standard library only. :func:`predict_command` predicts image files either through a service
(``uri=``) or in-process from a model directory (``model_dir=``), through the same scoring code
path in both cases.

>>> ScoringClient("ftp://example.invalid/score")
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: scoring URI must start with http:// or https://, got 'ftp://example.invalid/score'
"""

from __future__ import annotations

import base64
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asl_recognition._validation import Interval, check_param
from asl_recognition.data.arrays import NUM_PIXELS, as_image_batch
from asl_recognition.deploy._requests import json_loads
from asl_recognition.deploy._responses import json_dumps
from asl_recognition.errors import DeploymentError, InvalidParameterError, RequestError

__all__ = ["ScoringClient", "predict_command"]

logger = logging.getLogger(__name__)

ImageInput = str | os.PathLike[str] | bytes
#: images per request when predicting many files (the server accepts 64 by default)
IMAGE_BATCH = 32


class ScoringClient:
    """Send scoring requests to a deployed ``score.py``.

    Args:
        uri: the scoring URI (``http://127.0.0.1:5001/score`` or an Azure scoring URI).
        key: the service key, sent as ``Authorization: Bearer <key>``.
        timeout_s: socket timeout per request.

    Every method returns the decoded JSON answer (see
    :mod:`asl_recognition.deploy._responses`). A 4xx answer raises
    :class:`~asl_recognition.errors.RequestError` (its ``status`` is the HTTP code and its
    message the service's); 5xx answers and network failures raise
    :class:`~asl_recognition.errors.DeploymentError`.
    """

    def __init__(self, uri: str, key: str | None = None, *, timeout_s: float = 60.0) -> None:
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise InvalidParameterError(
                f"scoring URI must start with http:// or https://, got {uri!r}"
            )
        check_param("timeout_s", timeout_s, Interval(float, 0, None, closed="neither"))
        self.uri = uri
        self.key = key
        self.timeout_s = float(timeout_s)

    # -- high level -------------------------------------------------------------------------
    def predict(self, inputs: Any, *, top_k: int = 3, return_images: bool = False) -> Any:
        """Predict ``inputs``: image files/bytes, pixel arrays, or seed-style pixel-dict rows."""
        if isinstance(inputs, (str, os.PathLike, bytes)):
            return self.predict_images([inputs], top_k=top_k, return_images=return_images)
        if (
            isinstance(inputs, Sequence)
            and inputs
            and isinstance(inputs[0], (str, os.PathLike, bytes))
        ):
            return self.predict_images(list(inputs), top_k=top_k, return_images=return_images)
        if isinstance(inputs, Sequence) and inputs and isinstance(inputs[0], Mapping):
            return self.post_json(
                {"data": list(inputs), "top_k": top_k, "return_images": return_images}
            )
        return self.predict_pixels(inputs, top_k=top_k, return_images=return_images)

    def predict_pixels(self, images: Any, *, top_k: int = 3, return_images: bool = False) -> Any:
        """Predict (N, 28, 28) or (N, 784) pixel arrays (values 0..255)."""
        batch = as_image_batch(images).reshape(-1, NUM_PIXELS)
        rows = (
            batch.astype(np.int64).tolist() if np.all(batch == np.rint(batch)) else batch.tolist()
        )
        return self.post_json({"data": rows, "top_k": top_k, "return_images": return_images})

    def predict_images(
        self, images: Sequence[ImageInput], *, top_k: int = 3, return_images: bool = False
    ) -> Any:
        """Predict encoded images (PNG/JPEG files or their bytes), sent base64 in JSON."""
        encoded = [base64.b64encode(_read_image(x)).decode("ascii") for x in images]
        return self.post_json({"images": encoded, "top_k": top_k, "return_images": return_images})

    def info(self) -> Any:
        """The service's description of its model and accepted formats (``GET /score``)."""
        return self._send(urllib.request.Request(self.uri, method="GET", headers=self._headers()))

    # -- low level --------------------------------------------------------------------------
    def post_json(self, payload: Any) -> Any:
        """POST ``payload`` (JSON-able) and return the decoded answer."""
        return self.post(json_dumps(payload), "application/json")

    def post(
        self, body: bytes, content_type: str, *, query: Mapping[str, Any] | None = None
    ) -> Any:
        """POST raw ``body`` with ``content_type`` (e.g. a PNG file as ``image/png``)."""
        uri = self.uri
        if query:
            uri += ("&" if "?" in uri else "?") + urllib.parse.urlencode(query)
        headers = self._headers() | {"Content-Type": content_type}
        return self._send(urllib.request.Request(uri, data=body, method="POST", headers=headers))

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return headers

    def _send(self, request: urllib.request.Request) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeploymentError(
                f"cannot reach the scoring service at {self.uri}: {reason}"
            ) from exc
        try:
            answer = json_loads(raw)
        except ValueError:
            answer = None
        message = answer.get("message") if isinstance(answer, dict) else None
        if 400 <= status < 500:
            raise RequestError(
                f"{self.uri} rejected the request ({status}): {message or raw[:200]!r}",
                status=status,
            )
        if status >= 300 or answer is None:
            raise DeploymentError(f"{self.uri} answered {status}: {message or raw[:200]!r}")
        return answer


def _read_image(image: ImageInput) -> bytes:
    if isinstance(image, bytes):
        return image
    path = Path(image)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidParameterError(f"cannot read image {path}: {exc.strerror or exc}") from exc


def predict_command(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    uri: str | None = None,
    key: str | None = None,
    top_k: int = 3,
) -> list[dict[str, Any]]:
    """Predict image files with a local model directory or a deployed service (for the CLI).

    Exactly one of ``model_dir`` and ``uri`` must be given. Each image goes through
    :func:`asl_recognition.images.preprocess_image` (in the service or here).

    Returns:
        one dict per input: ``{"input": path, "label": int, "letter": str,
        "probabilities": [{"label", "letter", "probability"}, ...]}`` (``top_k`` entries).
    """
    if (model_dir is None) == (uri is None):
        raise InvalidParameterError(
            "give exactly one of model_dir (a saved model) or uri (a service)"
        )
    check_param("top_k", top_k, Interval(int, 1, None))
    paths = [Path(p) for p in inputs]
    if not paths:
        raise InvalidParameterError("no input images given")
    answers: list[dict[str, Any]] = []
    if uri is not None:
        client = ScoringClient(uri, key=key)
        for start in range(0, len(paths), IMAGE_BATCH):
            answers.append(client.predict_images(paths[start : start + IMAGE_BATCH], top_k=top_k))
    else:
        from asl_recognition.deploy._requests import ScoringRequest
        from asl_recognition.deploy._scoring import Scorer
        from asl_recognition.images import preprocess_image
        from asl_recognition.models import load_model

        assert model_dir is not None
        scorer = Scorer(load_model(model_dir))
        images = np.stack([preprocess_image(p) for p in paths]).astype(np.float32)
        answers.append(scorer.predict(ScoringRequest(images=images, top_k=top_k)))
    rows: list[dict[str, Any]] = []
    for answer in answers:
        for label, letter, probs in zip(
            answer["result"], answer["letters"], answer["probabilities"], strict=True
        ):
            rows.append({"label": label, "letter": letter, "probabilities": probs})
    return [{"input": str(p), **row} for p, row in zip(paths, rows, strict=True)]
