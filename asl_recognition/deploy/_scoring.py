"""The scoring logic behind ``score.py``: authentication, parsing, prediction, answer.

Kept out of ``score.py`` because the inference server loads that file outside the package
(as module ``entry_module``); everything that defines classes lives here, importable normally.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.deploy._requests import ScoringLimits, ScoringRequest, parse_request
from asl_recognition.deploy._responses import error_payload, json_dumps, prediction_payload
from asl_recognition.errors import ConfigurationError, ModelFormatError, RequestError
from asl_recognition.models import METADATA_FILE, TrainedModel, load_model

__all__ = ["DEFAULT_TOP_K", "RUNTIMES", "Reply", "Scorer", "find_model_dir", "limit_threads", "worker_threads"]

# The server loads this file as module "entry_module"; log under the library's name.
logger = logging.getLogger(__name__)

DEFAULT_TOP_K = 3
#: ``ASL_RUNTIME``: "fastest" serves a model's ONNX export through onnxruntime when it has one
#: (a Keras network answers small batches faster there), "native" its own flavour's runtime
RUNTIMES = ("fastest", "native")
_JSON = "application/json"
_FORMATS = [
    '{"data": [{"pixel1": 0, ..., "pixel784": 0}, ...]}',
    '{"Inputs": {"data": [...]}}',
    '{"data": [[784 numbers], ...]} or [[28 x 28 numbers], ...]',
    '{"images": ["<base64 PNG or JPEG>", ...]}',
    "raw image/png or image/jpeg body, or multipart/form-data image files",
]


@dataclasses.dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = _JSON
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str, **headers: str) -> Reply:
        """A JSON error answer."""
        return cls(status, json_dumps(error_payload(message)), _JSON, headers)


def find_model_dir(root: str | os.PathLike[str]) -> Path:
    """The model directory at ``root`` or the single one nested up to three levels below it.

    Raises:
        ModelFormatError: no model directory, or more than one.
    """
    base = Path(root)
    if (base / METADATA_FILE).is_file():
        return base
    if not base.is_dir():
        raise ModelFormatError(f"model directory {base} does not exist")
    for pattern in ("*", "*/*", "*/*/*"):
        found = sorted(p.parent for p in base.glob(f"{pattern}/{METADATA_FILE}"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(base)) for p in found[:5])
            raise ModelFormatError(
                f"{base} holds {len(found)} model directories ({names}); expected one"
            )
    raise ModelFormatError(f"no {METADATA_FILE} found in {base} or the three levels below it")


def worker_threads(environ: Mapping[str, str] = os.environ) -> int:
    """Compute threads one server worker should use for predictions.

    ``ASL_MODEL_THREADS`` when set, else the CPUs this process may run on divided by the
    server's worker processes (``WORKER_COUNT``, which ``azmlinfsrv`` sets), at least 1: the
    workers already keep every core busy, and extra threads per worker only contend.

    >>> worker_threads({"ASL_MODEL_THREADS": "3"})
    3
    >>> worker_threads({"WORKER_COUNT": "1000"})
    1
    """
    raw = environ.get("ASL_MODEL_THREADS", "")
    if raw:
        try:
            threads = int(raw)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ConfigurationError(f"ASL_MODEL_THREADS must be a positive integer, got {raw!r}")
        return threads
    try:
        workers = max(1, int(environ.get("WORKER_COUNT", "") or 1))
    except ValueError:
        workers = 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cpus // workers)


def limit_threads(threads: int, model: TrainedModel | None = None) -> None:
    """Cap the compute thread pools of this process (and of ``model``) at ``threads``.

    Covers the BLAS/OpenMP pools that numpy and scikit-learn use (through threadpoolctl, when
    installed), TensorFlow's pools (its ``TF_NUM_*_THREADS`` variables, unless set; they act
    when TensorFlow is first imported, so call this before loading the model), the hand
    detector's LiteRT interpreters and onnxruntime's pool of an ``onnx`` model.
    """
    from asl_recognition.photo.handpose import set_threads as set_hand_threads

    set_hand_threads(threads)
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - comes with scikit-learn
        pass
    else:
        threadpool_limits(limits=threads)
    set_threads = getattr(model, "set_threads", None)
    if callable(set_threads):
        set_threads(threads)


class Scorer:
    """Everything behind ``run()``: authentication, parsing, prediction, answer.

    Args:
        model: the loaded model.
        limits: request limits.
        key: if set, requests need ``Authorization: Bearer <key>``.
        default_top_k: classes per image under ``"probabilities"`` unless the request says.

    >>> import numpy as np
    >>> from asl_recognition.models import ModelMetadata, TrainedModel
    >>> class Half(TrainedModel):
    ...     def _predict_proba(self, images):
    ...         return np.tile([0.5, 0.5], (len(images), 1))
    ...     def _save_files(self, directory): return {}
    ...     @classmethod
    ...     def _load(cls, directory, metadata): return cls(metadata=metadata)
    >>> s = Scorer(Half(metadata=ModelMetadata.create(model_type="x", backend="x", labels=(0, 1))))
    >>> reply = s.handle(method="POST", body=b'{"data": [[0]]}', content_type="application/json")
    >>> reply.status, reply.body[:30]
    (400, b'{"message":"\\'data\\' must have s')
    """

    def __init__(
        self,
        model: TrainedModel,
        *,
        limits: ScoringLimits | None = None,
        key: str | None = None,
        default_top_k: int = DEFAULT_TOP_K,
    ) -> None:
        self.model = model
        self.limits = limits or ScoringLimits()
        self._key = key.encode("utf-8") if key else None
        self.default_top_k = max(1, min(int(default_top_k), len(model.labels)))
        self._labels = tuple(model.labels)
        self._demo_page: bytes | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Scorer:
        """Load the model from ``AZUREML_MODEL_DIR`` and read the ``ASL_*`` settings.

        ``ASL_RUNTIME`` (:data:`RUNTIMES`) chooses the runtime: by default the fastest the model
        directory offers (its ONNX export, when it has one).

        Meant for a server worker: it also caps the process's compute threads at
        :func:`worker_threads` (see :func:`limit_threads`).
        """
        root = environ.get("AZUREML_MODEL_DIR")
        if not root:
            raise ConfigurationError("environment variable AZUREML_MODEL_DIR is not set")
        model_dir = find_model_dir(root)
        from asl_recognition.photo.hand_models import use_bundled_hand_models

        if use_bundled_hand_models(model_dir):  # shipped with the model (Azure: no download there)
            logger.info("hand models from %s", model_dir)
        raw_k = environ.get("ASL_TOP_K", "") or str(DEFAULT_TOP_K)
        try:
            top_k = int(raw_k)
        except ValueError:
            raise ConfigurationError(f"ASL_TOP_K must be an integer, got {raw_k!r}") from None
        runtime = environ.get("ASL_RUNTIME", "") or "fastest"
        if runtime not in RUNTIMES:
            raise ConfigurationError(f"ASL_RUNTIME must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        threads = worker_threads(environ)
        limit_threads(threads)
        model = load_model(model_dir, prefer="onnx" if runtime == "fastest" else None)
        limit_threads(threads, model)
        model.predict_proba(np.zeros((1, 28, 28), dtype=np.float32))  # warm up lazy sessions
        if model.reads_photos:  # and the hand detector's interpreters, before the first photo
            from asl_recognition.photo.handpose import hand_detector_available

            hand_detector_available()
        logger.info("loaded %r from %s (%d compute thread(s))", model, model_dir, threads)
        return cls(
            model,
            limits=ScoringLimits.from_environ(environ),
            key=environ.get("ASL_SCORING_KEY") or None,
            default_top_k=top_k,
        )

    # -- the request cycle ------------------------------------------------------------------
    def handle(
        self,
        *,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
        authorization: str | None = None,
        accept: str | None = None,
    ) -> Reply:
        """Answer one request; :class:`RequestError` becomes a 4xx reply, nothing else is caught."""
        query = query or {}
        try:
            if method == "GET":
                if "demo" in query or "text/html" in (accept or ""):
                    return Reply(200, self.demo_page(), "text/html; charset=utf-8")
                self.check_key(authorization)
                return Reply(200, json_dumps(self.describe()))
            if method != "POST":
                return Reply.error(405, f"method {method} is not allowed; use POST (or GET)")
            self.check_key(authorization)
            request = parse_request(body, content_type, query=query, limits=self.limits)
            return Reply(200, json_dumps(self.predict(request)))
        except RequestError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            logger.info("rejected request (%d): %s", exc.status, exc)
            return Reply.error(exc.status, str(exc), **headers)

    def authorized(self, authorization: str | None) -> bool:
        """Whether the ``Authorization`` header carries the key (always True without a key)."""
        if self._key is None:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8"), self._key
        )

    def check_key(self, authorization: str | None) -> None:
        """Raise ``RequestError(401)`` unless :meth:`authorized`."""
        if not self.authorized(authorization):
            raise RequestError(
                "missing or wrong key: send 'Authorization: Bearer <key>'", status=401
            )

    def predict(self, request: ScoringRequest) -> dict[str, Any]:
        """The prediction answer for a parsed request."""
        top_k = self.default_top_k if request.top_k is None else request.top_k
        if top_k > len(self._labels):
            raise RequestError(
                f"'top_k' must be at most {len(self._labels)} (the model's number of classes), "
                f"got {top_k}"
            )
        proba = self.predict_proba(request)
        return prediction_payload(
            proba,
            self._labels,
            top_k=top_k,
            images=request.images if request.return_images else None,
            hands=request.observations if request.return_images else None,
        )

    def predict_proba(self, request: ScoringRequest) -> npt.NDArray[np.float32]:
        """The model's class probabilities for a parsed request, (N, classes), in label order.

        Encoded images go to a photo-native model as photos (their hand observations), pixel
        rows as 28x28 images.
        """
        if request.observations is not None:
            return self.model.predict_photos_proba([], observations=request.observations)
        return self.model.predict_proba(request.images)

    def describe(self) -> dict[str, Any]:
        """What ``GET /score`` answers: the model and the request formats."""
        meta = self.model.metadata
        return {
            "model": {
                "model_type": meta.model_type,
                "backend": meta.backend,
                "labels": list(self._labels),
                "letters": list(self.model.letters),
                "metrics": meta.metrics,
                "created_at": meta.created_at,
            },
            "top_k": self.default_top_k,
            "limits": dataclasses.asdict(self.limits),
            "formats": _FORMATS,
        }

    def demo_page(self) -> bytes:
        """The demo web page (read once from the package)."""
        if self._demo_page is None:
            page = resources.files("asl_recognition.deploy").joinpath("static/index.html")
            self._demo_page = page.read_bytes()
        return self._demo_page
