"""THE scoring script: ``init()`` / ``run()`` for the Azure ML inference server, local or on Azure.

The inference server (``azmlinfsrv``, the server Azure's images run) imports this file, calls
:func:`init` once per worker and :func:`run` for every request on ``/score``. ``run`` is
decorated with ``@rawhttp``, so it gets the raw request and chooses the HTTP status itself:
200 with real JSON for predictions, 4xx with ``{"message": ...}`` for bad input, and 5xx only
for real server faults (exceptions other than :class:`~asl_recognition.errors.RequestError`
propagate to the server, which logs them and answers 500; a scoring timeout also answers 500).

Configuration (environment variables, set by the local deployer or the Azure deployment):

``AZUREML_MODEL_DIR``
    the model directory, or a directory holding exactly one nested model directory (Azure puts
    the registered folder under it).
``ASL_SCORING_KEY``
    when set, POST and GET-info requests need ``Authorization: Bearer <key>`` (401 otherwise).
    Azure deployments leave it unset: Azure checks its own keys in front of the server.
``ASL_TOP_K``
    default number of classes per image under ``"probabilities"`` (3).
``ASL_MAX_BODY_BYTES``, ``ASL_MAX_ROWS``, ``ASL_MAX_IMAGES``, ``ASL_MAX_IMAGE_PIXELS``
    request limits, see :class:`~asl_recognition.deploy._requests.ScoringLimits`.
``SCORING_TIMEOUT_MS``
    read by the server itself: the per-request scoring timeout.

``GET /score`` answers the demo page to browsers (``Accept: text/html`` or ``?demo``) and a JSON
description of the model and the accepted formats otherwise.

Request and answer formats: :mod:`asl_recognition.deploy._requests` and
:mod:`asl_recognition.deploy._responses`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from asl_recognition.deploy._scoring import Reply, Scorer

try:
    from azureml_inference_server_http.api import aml_request as _aml_request
    from azureml_inference_server_http.api.aml_response import AMLResponse
except ImportError:  # pragma: no cover - the module stays importable without the serve extra
    _aml_request = None
    AMLResponse = None

__all__ = ["init", "run"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _rawhttp(func: _F) -> _F:
    """The server's ``@rawhttp``: ``run`` receives the raw request and returns a response."""
    if _aml_request is not None:
        return cast(_F, _aml_request.rawhttp(func))
    return func


def _read_body(stream: Any, limit: int) -> bytes | None:
    """Read at most ``limit`` bytes; None when the body is longer."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


_scorer: Scorer | None = None


def init() -> None:
    """Called once per server worker: load the model named by ``AZUREML_MODEL_DIR``."""
    global _scorer
    _scorer = Scorer.from_environ()


@_rawhttp
def run(request: Any) -> Any:
    """Called by the server for every request on ``/score`` with the raw (Flask) request."""
    scorer = _scorer
    if scorer is None:
        raise RuntimeError("score.run() called before init()")
    authorization = request.headers.get("Authorization")
    body = b""
    if request.method == "POST" and scorer.authorized(authorization):
        # refuse large bodies before reading them (and chunked ones while reading)
        limit = scorer.limits.max_body_bytes
        length = request.content_length
        read = _read_body(request.stream, limit) if length is None or length <= limit else None
        if read is None:
            reply = Reply.error(413, f"request body is longer than the limit of {limit:,} bytes")
            return _response(reply)
        body = read
    reply = scorer.handle(
        method=request.method,
        body=body,
        content_type=request.headers.get("Content-Type"),
        query=request.args.to_dict(),
        authorization=authorization,
        accept=request.headers.get("Accept"),
    )
    return _response(reply)


def _response(reply: Reply) -> Any:
    headers = {"Content-Type": reply.content_type, **reply.headers}
    return AMLResponse(reply.body, reply.status, headers)
