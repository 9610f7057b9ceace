"""The Open Inference Protocol (v2 REST) front end: KServe's model server around the one scoring path.

Run by :class:`~asl_recognition.deploy.oip.OipDeployer` as a subprocess::

    python -m asl_recognition.deploy._oip --host 127.0.0.1 --port 8080 --name asl

configured by the same environment variables as ``score.py`` (``AZUREML_MODEL_DIR``,
``ASL_SCORING_KEY``, ``ASL_TOP_K``, ``ASL_MAX_*``). The model is loaded by
:meth:`~asl_recognition.deploy._scoring.Scorer.from_environ`, requests are validated by
:func:`~asl_recognition.deploy._requests.tensor_request` and answered by
:meth:`~asl_recognition.deploy._scoring.Scorer.predict_proba`: the code ``/score`` runs.

Routes (KServe's, plus the model metadata written here so that it can carry the labels)::

    GET  /v2/health/live, /v2/health/ready, /v2/models/{name}/ready
    GET  /v2/models/{name}           inputs, outputs, datatypes, shapes; parameters.letters
    POST /v2/models/{name}/infer     JSON tensors or the binary tensor extension

Inputs: ``pixels`` (UINT8/FP32/any numeric, ``[N, 28, 28]`` or ``[N, 784]``) or ``images``
(BYTES ``[N]``: PNG/JPEG files; in JSON each one base64-encoded, in the binary tensor extension
the files' raw bytes). Outputs: ``label`` (INT64 ``[N]``), ``letter`` (BYTES ``[N]``),
``probabilities`` (FP32 ``[N, classes]``, in label order), in JSON or, when the request asks for
them so (``binary_data_output``, or ``binary_data`` per requested output), as binary tensors.

Binary requests (``Inference-Header-Content-Length``) are read by :func:`binary_request`: KServe's
own decoder turns every binary BYTES element into UTF-8 text, which an encoded photo is not.
Request parameter ``top_k`` is accepted and validated as on ``/score``. Errors answer
``{"error": "..."}`` with 400 (bad request), 401 (key), 404 (model), 413 (limits) or 415.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import concurrent.futures
import contextlib
import logging
import os
import re
import socket
import struct
import sys
import warnings
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import numpy as np

from asl_recognition.deploy._process import die_with_parent
from asl_recognition.deploy._requests import ScoringRequest, tensor_request
from asl_recognition.deploy._scoring import Scorer
from asl_recognition.errors import RequestError

__all__ = [
    "INPUTS", "OUTPUTS", "READY_LINE", "binary_request", "build_server", "main", "model_metadata", "parse_tensors",
    "score_tensors",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: the input tensors a request may send (exactly one of them)
INPUTS = (
    {"name": "pixels", "datatype": "FP32", "shape": [-1, 28, 28]},
    {"name": "images", "datatype": "BYTES", "shape": [-1]},
)
#: base64 text; a PNG/JPEG file never is (its signature holds bytes outside this alphabet)
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_PIXEL_TYPES = frozenset({"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
                          "FP16", "FP32", "FP64"})  # fmt: skip

#: routes that need the key (the health routes stay open for probes)
_KEYED_ROUTES = ("/v2/models", "/v1/models")
#: KServe's model repository extension (load/unload) would let a caller unload the model
_CLOSED_ROUTES = ("/v2/repository",)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def OUTPUTS(classes: int) -> list[dict[str, Any]]:  # noqa: N802 - reads as the constant it mirrors
    """The output tensors of a model with ``classes`` classes."""
    return [
        {"name": "label", "datatype": "INT64", "shape": [-1]},
        {"name": "letter", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, classes]},
    ]


def model_metadata(name: str, scorer: Scorer) -> dict[str, Any]:
    """``GET /v2/models/{name}``: the OIP metadata plus the labels, letters and limits."""
    described = scorer.describe()
    model = described["model"]
    return {
        "name": name,
        "versions": [],
        "platform": f"asl_recognition/{model['backend']}",
        "inputs": [dict(t) for t in INPUTS],
        "outputs": OUTPUTS(len(model["labels"])),
        "parameters": {
            "model_type": model["model_type"],
            "labels": model["labels"],
            "letters": model["letters"],
            "top_k": described["top_k"],
            "limits": described["limits"],
        },
    }


def _images(values: np.ndarray[Any, Any], field: str) -> list[bytes]:
    """BYTES elements as files: raw bytes (binary extension) or base64 text (JSON). A binary
    element that is base64 text (as clients sent photos before raw bytes were read) is decoded."""
    blobs: list[bytes] = []
    for i, item in enumerate(values.reshape(-1).tolist()):
        if isinstance(item, bytes):
            blobs.append(_base64_or_none(item) or item)
        elif isinstance(item, str):
            text = item.partition(",")[2] if item.startswith("data:") else item
            try:
                blobs.append(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise RequestError(f"{field}[{i}] is not valid base64: {exc}") from None
        else:
            raise RequestError(f"{field}[{i}] must be a PNG or JPEG file, got {type(item).__name__}")
    return blobs


def _base64_or_none(item: bytes) -> bytes | None:
    """The decoded bytes when ``item`` is base64 text (or a base64 data: URL), else None."""
    text = item.partition(b",")[2] if item.startswith(b"data:") else item
    if not _BASE64_TEXT.fullmatch(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def binary_request(body: bytes, json_length: Any, model_name: str) -> Any:
    """A request in the binary tensor extension (a JSON header of ``json_length`` bytes, then the
    tensors' bytes) as a kserve ``InferRequest``, each binary tensor kept as the bytes it came as
    (``as_numpy`` decodes them: BYTES elements stay ``bytes``, numbers are read in place).

    Raises:
        RequestError: the header is not JSON, or a tensor's size or fields do not add up.
    """
    import orjson
    from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput

    try:
        size = int(json_length)
    except (TypeError, ValueError):
        raise RequestError(f"header Inference-Header-Content-Length must be a byte count, "
                           f"got {json_length!r}") from None  # fmt: skip
    if not 0 < size <= len(body):
        raise RequestError(f"header Inference-Header-Content-Length is {size:,}, but the body has {len(body):,} bytes")
    try:
        header = orjson.loads(body[:size])
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the first {size:,} bytes of the body (Inference-Header-Content-Length) are not "
                           f"JSON: {exc}") from None  # fmt: skip
    specs = header.get("inputs") if isinstance(header, dict) else None
    if not isinstance(specs, list):
        raise RequestError("not a valid OIP inference request: 'inputs' must be a list of tensors")
    inputs, start = [], size
    for k, spec in enumerate(specs):
        if not isinstance(spec, dict) or not {"name", "shape", "datatype"} <= spec.keys():
            raise RequestError(f"not a valid OIP inference request: inputs[{k}] needs name, shape and datatype")
        params = spec.get("parameters") or None
        tensor = InferInput(name=str(spec["name"]), shape=spec["shape"], datatype=str(spec["datatype"]),
                            parameters=params)  # fmt: skip
        if spec.get("data") is not None:
            tensor.data = spec["data"]
        elif isinstance(params, dict) and isinstance(params.get("binary_data_size"), int):
            end = start + params["binary_data_size"]
            if params["binary_data_size"] < 0 or end > len(body):
                raise RequestError(f"input {tensor.name!r}: binary_data_size {params['binary_data_size']:,} runs "
                                   f"past the end of the body")  # fmt: skip
            tensor._raw_data = body[start:end]  # as kserve's own decoder does, without the UTF-8 step
            start = end
        else:
            raise RequestError(f"input {tensor.name!r} has neither 'data' nor parameters.binary_data_size")
        inputs.append(tensor)
    if start != len(body):
        raise RequestError(f"the body has {len(body) - start:,} bytes after the tensors its header describes")
    outputs = header.get("outputs")
    requested = None
    if isinstance(outputs, list):
        requested = [RequestedOutput(name=str(o.get("name")), parameters=o.get("parameters"))
                     for o in outputs if isinstance(o, dict)]  # fmt: skip
    return InferRequest(model_name=model_name, infer_inputs=inputs, request_id=header.get("id"),
                        parameters=header.get("parameters"), request_outputs=requested or None)  # fmt: skip


def parse_tensors(inputs: dict[str, Any], scorer: Scorer, *, top_k: Any = None) -> ScoringRequest:
    """An OIP request's inputs (name -> kserve ``InferInput``) as a validated scoring request."""
    names = sorted(inputs)
    if names not in (["pixels"], ["images"]):
        raise RequestError(
            f"send exactly one input tensor, 'pixels' (numbers, [N,28,28] or [N,784]) or 'images' "
            f"(BYTES, PNG/JPEG files), got {', '.join(map(repr, names)) or 'none'}"
        )
    (name,) = names
    tensor = inputs[name]
    datatype = str(tensor.datatype)
    if name == "pixels" and datatype not in _PIXEL_TYPES:
        raise RequestError(f"input 'pixels' must have a numeric datatype (UINT8, FP32, ...), got {datatype}")
    if name == "images" and datatype != "BYTES":
        raise RequestError(f"input 'images' must have datatype BYTES, got {datatype}")
    try:
        values = tensor.as_numpy()
    except (ValueError, TypeError, struct.error) as exc:
        raise RequestError(f"input {name!r}: data does not match shape {list(tensor.shape)}: {exc}") from None
    if name == "images":
        return tensor_request(images=_images(values, name), field=name, top_k=top_k, limits=scorer.limits)
    return tensor_request(pixels=values, field=name, top_k=top_k, limits=scorer.limits)


def score_tensors(request: ScoringRequest, scorer: Scorer) -> dict[str, np.ndarray[Any, Any]]:
    """The output tensors for a validated request (one model call, the ``/score`` path)."""
    if request.top_k is not None and request.top_k > len(scorer.model.labels):
        raise RequestError(
            f"'top_k' must be at most {len(scorer.model.labels)} (the model's number of classes), "
            f"got {request.top_k}"
        )
    proba = np.asarray(scorer.predict_proba(request), dtype=np.float32)
    best = proba.argmax(axis=1)
    labels = np.asarray(scorer.model.labels, dtype=np.int64)[best]
    letters = np.asarray(scorer.model.letters, dtype=object)[best]
    return {
        "label": labels,
        "letter": np.array([str(x).encode("utf-8") for x in letters], dtype=object),
        "probabilities": proba,
    }


class _Guard:
    """ASGI middleware: the key on the model routes, the body-size limit, no repository routes."""

    def __init__(self, app: ASGIApp, *, scorer: Scorer) -> None:
        self.app = app
        self.scorer = scorer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = str(scope.get("path", ""))
        if path.startswith(_CLOSED_ROUTES):
            await _error(send, 404, f"{path} is not served here (the model is loaded once, at start-up)")
            return
        if path.startswith(_KEYED_ROUTES) and not self.scorer.authorized(headers.get("authorization")):
            await _error(send, 401, "missing or wrong key: send 'Authorization: Bearer <key>'",
                         extra=[(b"www-authenticate", b"Bearer")])  # fmt: skip
            return
        limit = self.scorer.limits.max_body_bytes
        too_long = f"request body is longer than the limit of {limit:,} bytes"
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _error(send, 413, too_long)
            return
        if "inference-header-content-length" in headers:
            # a body with binary tensors is not JSON, whatever its Content-Type says: FastAPI must
            # hand it on as bytes (to binary_request)
            kept = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-type"]
            scope = dict(scope, headers=[*kept, (b"content-type", b"application/octet-stream")])
        elif "content-type" not in headers:
            # a body without binary tensors is JSON (tritonclient sends no Content-Type for it,
            # and KServe would otherwise read the body as binary tensors without their header)
            scope = dict(scope, headers=[*scope.get("headers", []), (b"content-type", b"application/json")])
        received = 0

        async def counted() -> MutableMapping[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise RequestError(too_long, status=413)
            return message

        await self.app(scope, counted, send)


async def _error(send: Send, status: int, message: str, *, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    import orjson

    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    logger.info("rejected request (%d): %s", status, message)


def _from_kserve_decoder(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while KServe decoded the request body (a malformed request)."""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename.replace(os.sep, "/")
        if filename.endswith(("kserve/protocol/infer_type.py", "kserve/utils/numpy_codec.py")):
            return True
        if filename.endswith("kserve/protocol/dataplane.py") and tb.tb_frame.f_code.co_name.startswith("decode"):
            return True
        tb = tb.tb_next
    return False


def build_server(scorer: Scorer, *, name: str, host: str, port: int, threads: int, access_log: bool) -> Any:
    """KServe's REST server (uvicorn + FastAPI) for ``scorer``'s model, bound to ``host:port``."""
    sys.argv = sys.argv[:1]  # kserve parses the command line when imported
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from kserve import Model, model_server
    from kserve.errors import InferenceError
    from kserve.model_repository import ModelRepository
    from kserve.protocol.dataplane import DataPlane
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
    from kserve.protocol.model_repository_extension import ModelRepositoryExtension
    from kserve.protocol.rest.server import RESTServer

    executor = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="score")

    class AslModel(Model):  # type: ignore[misc]
        """The library's scoring path as a KServe model."""

        def __init__(self) -> None:
            super().__init__(name)
            self.ready = True

        def get_input_types(self) -> list[dict[str, Any]]:
            return [dict(t) for t in INPUTS]

        def get_output_types(self) -> list[dict[str, Any]]:
            return OUTPUTS(len(scorer.model.labels))

        def _infer(self, request: InferRequest) -> InferResponse:
            top_k = (request.parameters or {}).get("top_k")
            parsed = parse_tensors({t.name: t for t in request.inputs}, scorer, top_k=top_k)
            tensors = score_tensors(parsed, scorer)
            # numpy data: KServe encodes each output once, as JSON or binary (as the request asks)
            outputs = [InferOutput(name=spec["name"], shape=list(tensors[spec["name"]].shape),
                                   datatype=spec["datatype"], data=tensors[spec["name"]])
                       for spec in OUTPUTS(len(scorer.model.labels))]  # fmt: skip
            return InferResponse(
                response_id=request.id or "",
                model_name=name,
                infer_outputs=outputs,
                use_binary_outputs=request.use_binary_outputs,
                requested_outputs=request.request_outputs,
            )

        async def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
            if not isinstance(payload, InferRequest):
                raise RequestError("this model speaks the v2 protocol: POST /v2/models/{name}/infer")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(executor, self._infer, payload)

    class AslDataPlane(DataPlane):  # type: ignore[misc]
        """KServe's data plane, with binary requests read by :func:`binary_request`."""

        def decode_inference_request(self, body: Any, headers: Any, model_name: str) -> Any:
            if isinstance(body, bytes):
                return binary_request(body, headers.get("inference-header-content-length"), model_name)
            return super().decode_inference_request(body, headers, model_name)

    repository = ModelRepository()
    model = AslModel()
    repository.update(model)
    dataplane = AslDataPlane(model_registry=repository)
    rest = RESTServer(
        "kserve.model_server:app", dataplane, ModelRepositoryExtension(model_registry=repository), port,
    )  # fmt: skip
    rest.config.host = host
    rest.config.access_log = access_log
    # KServe logs two timing lines per request and uvicorn an access line: CPU on every request
    logging.getLogger("kserve.trace").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.INFO if access_log else logging.WARNING)
    warnings.filterwarnings("ignore", message=".*ORJSONResponse is deprecated")
    app = model_server.app

    async def metadata(model_name: str) -> Any:
        if model_name != name:
            return JSONResponse({"error": f"Model with name {model_name} does not exist."}, status_code=404)
        return model_metadata(name, scorer)

    # before KServe's own metadata route, whose response model has no room for the labels
    app.add_api_route("/v2/models/{model_name}", metadata, methods=["GET"], include_in_schema=False)

    rest.create_application()  # KServe's routes, middleware and error handlers (after ours)

    async def request_error(_: Request, exc: Exception) -> JSONResponse:
        status = exc.status if isinstance(exc, RequestError) else 400
        logger.info("rejected request (%d): %s", status, exc)
        return JSONResponse({"error": str(exc)}, status_code=status)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        parts = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors[:3]]
        message = "not a valid OIP inference request: " + ("; ".join(parts) or str(exc))
        logger.info("rejected request (400): %s", message)
        return JSONResponse({"error": message}, status_code=400)

    kserve_handlers = {cls: app.exception_handlers[cls] for cls in (InferenceError, Exception)}

    async def other_error(request: Request, exc: Exception) -> Any:
        if _from_kserve_decoder(exc):  # a body KServe's decoder could not read: the client's fault
            return await request_error(request, RequestError(f"malformed inference request: {str(exc)[:300]}"))
        handler = kserve_handlers[InferenceError if isinstance(exc, InferenceError) else Exception]
        return await handler(request, exc)

    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(InferenceError, other_error)
    app.add_exception_handler(Exception, other_error)
    app.add_middleware(_Guard, scorer=scorer)
    return rest


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> None:
    """Serve the model named by the environment with ``--workers`` processes until SIGINT/SIGTERM.

    The listening socket is bound first and the workers forked before anything heavy is
    imported; each worker then loads its own copy of the model and accepts on the shared
    socket (gunicorn's pre-fork model).
    """
    parser = argparse.ArgumentParser(prog="python -m asl_recognition.deploy._oip")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="asl")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--threads", type=int, default=1, help="scoring threads per process")
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    sock = _bind(args.host, args.port)
    worker = 0
    children: list[int] = []
    for i in range(1, args.workers):
        pid = os.fork()
        if pid == 0:
            die_with_parent()
            worker, children = i, []
            break
        children.append(pid)
    scorer = Scorer.from_environ()
    rest = build_server(
        scorer, name=args.name, host=args.host, port=args.port, threads=args.threads, access_log=args.access_log
    )
    logger.info("OIP worker %d %s on http://%s:%d/v2/models/%s", worker, READY_LINE, args.host, args.port, args.name)
    try:
        asyncio.run(rest._server.serve(sockets=[sock]))
    finally:
        for pid in children:  # the group got the same signal; reap the workers
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


#: what each worker logs once it serves (the deployer counts them)
READY_LINE = "ready for serving traffic"

if __name__ == "__main__":
    main()
