"""A Python client for the scoring services, and the ``predict`` command behind the CLI.

:class:`ScoringClient` talks to any deployment of ``score.py`` (local or Azure, ``/score``) and
to the OIP v2 service (:mod:`asl_recognition.deploy.oip`) over one ``requests`` session: its
connections are reused, and answers 429/503 (what managed endpoints send under load) are
retried with exponential backoff, honouring ``Retry-After``. :func:`predict_command` predicts
image files either through a service (``uri=``) or in-process from a model directory
(``model_dir=``), through the same scoring code path in both cases.

>>> ScoringClient("ftp://example.invalid/score")
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: scoring URI must start with http:// or https://, got 'ftp://example.invalid/score'
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asl_recognition._validation import Interval, Options, check_param
from asl_recognition.data.arrays import NUM_PIXELS, as_image_batch
from asl_recognition.deploy._requests import json_loads
from asl_recognition.deploy._responses import json_dumps, prediction_payload
from asl_recognition.errors import DeploymentError, InvalidParameterError, RequestError

__all__ = ["RETRY_STATUSES", "ScoringClient", "predict_command"]

logger = logging.getLogger(__name__)

ImageInput = str | os.PathLike[str] | bytes
#: images per request when predicting many files (the server accepts 64 by default)
IMAGE_BATCH = 32
#: answers that mean "busy, try again later" and are retried
RETRY_STATUSES = (429, 503)


class ScoringClient:
    """Send scoring requests to a deployed service, ``/score`` or OIP v2.

    Args:
        uri: the scoring URI: ``http://127.0.0.1:5001/score`` (or an Azure scoring URI) for
            ``protocol="score"``; ``http://127.0.0.1:8080/v2/models/<name>/infer`` for
            ``protocol="oip"``.
        key: the service key, sent as ``Authorization: Bearer <key>``.
        timeout_s: socket timeout per request.
        protocol: ``"score"`` (Azure ML's ``/score`` contract) or ``"oip"`` (Open Inference
            Protocol v2 REST).
        retries: how many times a 429/503 answer or a refused connection is retried.
        backoff_s: the first retry waits this long, each further one twice as long (a
            ``Retry-After`` header, when sent, decides instead).

    Every method returns the decoded JSON answer in the ``/score`` format (see
    :mod:`asl_recognition.deploy._responses`; OIP answers are converted to it). A 4xx answer
    raises :class:`~asl_recognition.errors.RequestError` (its ``status`` is the HTTP code and
    its message the service's); 5xx answers and network failures raise
    :class:`~asl_recognition.errors.DeploymentError`. A client may be shared by threads.
    """

    def __init__(
        self,
        uri: str,
        key: str | None = None,
        *,
        timeout_s: float = 60.0,
        protocol: str = "score",
        retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise InvalidParameterError(
                f"scoring URI must start with http:// or https://, got {uri!r}"
            )
        check_param("timeout_s", timeout_s, Interval(float, 0, None, closed="neither"))
        check_param("protocol", protocol, Options(("score", "oip")))
        check_param("retries", retries, Interval(int, 0, None))
        check_param("backoff_s", backoff_s, Interval(float, 0, None))
        self.uri = uri
        self.key = key
        self.timeout_s = float(timeout_s)
        self.protocol = protocol
        self.retries = retries
        self.backoff_s = float(backoff_s)
        self._local = threading.local()
        self._labels: tuple[int, ...] | None = None

    @property
    def session(self) -> Any:
        """This thread's ``requests.Session`` (connection pool and retry policy)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _session(self.retries, self.backoff_s)
        return session

    def close(self) -> None:
        """Close this thread's connections."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def __enter__(self) -> ScoringClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            self._score_only("pixel-dict rows")
            return self.post_json(
                {"data": list(inputs), "top_k": top_k, "return_images": return_images}
            )
        return self.predict_pixels(inputs, top_k=top_k, return_images=return_images)

    def predict_pixels(self, images: Any, *, top_k: int = 3, return_images: bool = False) -> Any:
        """Predict (N, 28, 28) or (N, 784) pixel arrays (values 0..255)."""
        batch = as_image_batch(images).reshape(-1, NUM_PIXELS)
        integral = bool(np.all(batch == np.rint(batch)))
        rows = batch.astype(np.int64).tolist() if integral else batch.tolist()
        if self.protocol == "oip":
            if return_images:
                self._score_only("return_images")
            tensor = {"name": "pixels", "datatype": "UINT8" if integral else "FP32",
                      "shape": [len(batch), NUM_PIXELS], "data": rows}  # fmt: skip
            return self._infer(tensor, top_k=top_k)
        return self.post_json({"data": rows, "top_k": top_k, "return_images": return_images})

    def predict_images(
        self, images: Sequence[ImageInput], *, top_k: int = 3, return_images: bool = False
    ) -> Any:
        """Predict encoded images (PNG/JPEG files or their bytes), sent base64 in JSON."""
        encoded = [base64.b64encode(_read_image(x)).decode("ascii") for x in images]
        if self.protocol == "oip":
            if return_images:
                self._score_only("return_images")
            tensor = {"name": "images", "datatype": "BYTES", "shape": [len(encoded)], "data": encoded}
            return self._infer(tensor, top_k=top_k)
        return self.post_json({"images": encoded, "top_k": top_k, "return_images": return_images})

    def info(self) -> Any:
        """The service's description of its model (``GET /score``; OIP: the model metadata)."""
        uri = self.uri.removesuffix("/infer") if self.protocol == "oip" else self.uri
        return self._send("GET", uri)

    # -- low level --------------------------------------------------------------------------
    def post_json(self, payload: Any) -> Any:
        """POST ``payload`` (JSON-able) and return the decoded answer (as the service sent it)."""
        return self.post(json_dumps(payload), "application/json")

    def post(
        self, body: bytes, content_type: str, *, query: Mapping[str, Any] | None = None
    ) -> Any:
        """POST raw ``body`` with ``content_type`` (e.g. a PNG file as ``image/png``)."""
        uri = self.uri
        if query:
            uri += ("&" if "?" in uri else "?") + urllib.parse.urlencode(query)
        return self._send("POST", uri, body=body, content_type=content_type)

    def _score_only(self, what: str) -> None:
        if self.protocol != "score":
            raise InvalidParameterError(f"{what} can only be sent to a /score service (protocol='score')")

    def _infer(self, tensor: dict[str, Any], *, top_k: int) -> Any:
        """An OIP inference request, its answer in the ``/score`` format."""
        check_param("top_k", top_k, Interval(int, 1, None))
        answer = self.post_json({"inputs": [tensor], "parameters": {"top_k": top_k}})
        outputs = {o.get("name"): o for o in answer.get("outputs", [])} if isinstance(answer, dict) else {}
        if "probabilities" not in outputs:
            raise DeploymentError(f"{self.uri} answered without a 'probabilities' output: {str(answer)[:200]!r}")
        out = outputs["probabilities"]
        proba = np.asarray(out["data"], dtype=np.float64).reshape(out["shape"])
        return prediction_payload(proba, self._oip_labels(), top_k=top_k)

    def _oip_labels(self) -> tuple[int, ...]:
        if self._labels is None:
            meta = self.info()
            labels = meta.get("parameters", {}).get("labels") if isinstance(meta, dict) else None
            if not isinstance(labels, list):
                raise DeploymentError(f"{self.uri}: the model metadata lists no labels")
            self._labels = tuple(int(x) for x in labels)
        return self._labels

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return headers

    def _send(self, method: str, uri: str, *, body: bytes | None = None, content_type: str | None = None) -> Any:
        import requests

        headers = self._headers() | ({"Content-Type": content_type} if content_type else {})
        try:
            resp = self.session.request(method, uri, data=body, headers=headers, timeout=self.timeout_s)
        except requests.exceptions.RequestException as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DeploymentError(f"cannot reach the scoring service at {uri}: {reason}") from exc
        status, raw = resp.status_code, resp.content
        try:
            answer = json_loads(raw)
        except ValueError:
            answer = None
        message = None
        if isinstance(answer, dict):
            message = answer.get("message") or answer.get("error")
        if 400 <= status < 500:
            raise RequestError(
                f"{uri} rejected the request ({status}): {message or raw[:200]!r}",
                status=status,
            )
        if status >= 300 or answer is None:
            raise DeploymentError(f"{uri} answered {status}: {message or raw[:200]!r}")
        return answer


def _session(retries: int, backoff_s: float) -> Any:
    """A ``requests.Session`` retrying refused connections and 429/503 answers, any method."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=0,  # a request that reached the model is not sent twice
        status=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # scoring is idempotent: POSTs are retried too
        backoff_factor=backoff_s,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer is returned, and becomes the error
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
    protocol: str = "score",
) -> list[dict[str, Any]]:
    """Predict image files with a local model directory or a deployed service (for the CLI).

    Exactly one of ``model_dir`` and ``uri`` must be given. Each image is observed once
    (:func:`asl_recognition.images.observe_image`, in the service or here): a photo-native
    model reads the photo's hand, any other model the 28x28 crop of
    :func:`~asl_recognition.images.preprocess_image`.

    Returns:
        one dict per input: ``{"input": path, "label": int, "letter": str,
        "probabilities": [{"label", "letter", "probability"}, ...]}`` (``top_k`` entries); with
        ``model_dir`` also ``"hand"``: what was found of the hand, as the service reports it
        (:func:`~asl_recognition.deploy._responses.hand_payload`; None when no hand was found and
        the centre of the image was read), and ``"photo_size"``.

    ``protocol`` says what ``uri`` speaks: ``"score"`` or ``"oip"`` (see :class:`ScoringClient`).
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
    found: list[dict[str, Any]] = [{} for _ in paths]
    if uri is not None:
        client = ScoringClient(uri, key=key, protocol=protocol)
        for start in range(0, len(paths), IMAGE_BATCH):
            answers.append(client.predict_images(paths[start : start + IMAGE_BATCH], top_k=top_k))
    else:
        from asl_recognition.deploy._requests import ScoringRequest
        from asl_recognition.deploy._responses import hand_payload
        from asl_recognition.deploy._scoring import Scorer
        from asl_recognition.images import observe_image
        from asl_recognition.models import load_model

        assert model_dir is not None
        scorer = Scorer(load_model(model_dir))
        observations = tuple(observe_image(p) for p in paths)  # the service's path for image files
        images = np.stack([o.image for o in observations]).astype(np.float32)
        answers.append(scorer.predict(ScoringRequest(images=images, top_k=top_k, observations=observations)))
        found = [{"hand": hand_payload(o), "photo_size": list(o.photo_size)} for o in observations]
    rows: list[dict[str, Any]] = []
    for answer in answers:
        for label, letter, probs in zip(
            answer["result"], answer["letters"], answer["probabilities"], strict=True
        ):
            rows.append({"label": label, "letter": letter, "probabilities": probs})
    return [{"input": str(p), **row, **hand} for p, row, hand in zip(paths, rows, found, strict=True)]
