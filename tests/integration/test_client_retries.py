"""ScoringClient against a real local HTTP server that is busy first: retries, backoff, reuse."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from asl_recognition.deploy.client import ScoringClient
from asl_recognition.errors import DeploymentError, RequestError

pytestmark = pytest.mark.serve

ANSWER = {"result": [0], "letters": ["A"], "probabilities": [[{"label": 0, "letter": "A", "probability": 1.0}]]}
OIP_ANSWER = {"model_name": "m", "outputs": [
    {"name": "label", "datatype": "INT64", "shape": [1], "data": [1]},
    {"name": "probabilities", "datatype": "FP32", "shape": [1, 2], "data": [0.25, 0.75]},
]}  # fmt: skip


class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers ``busy`` (a list of statuses) first, then 200; records every request."""

    protocol_version = "HTTP/1.1"  # keep-alive: the client may reuse its connection
    server: Any

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        srv = self.server
        srv.log.append((self.command, self.path, self.client_address[1], time.monotonic(), body))
        if srv.busy:
            status = srv.busy.pop(0)
            self._answer(status, {"message": "busy"}, {"Retry-After": srv.retry_after} if srv.retry_after else None)
        elif self.path.endswith("/infer"):
            self._answer(200, OIP_ANSWER)
        elif self.command == "GET" and "/v2/models/" in self.path:
            self._answer(200, {"name": "m", "parameters": {"labels": [0, 1]}})
        else:
            self._answer(200, ANSWER)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    busy: list[int]
    log: list[tuple[str, str, int, float, bytes]]
    retry_after: str | None


@pytest.fixture
def server() -> Iterator[Any]:
    srv = _Server(("127.0.0.1", 0), _Busy)
    srv.busy, srv.log, srv.retry_after = [], [], None
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _uri(server: Any, path: str = "/score") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_503_then_200_is_retried_with_backoff(server: Any) -> None:
    server.busy = [503, 503]
    client = ScoringClient(_uri(server), retries=3, backoff_s=0.05)
    assert client.predict_pixels(np.zeros((1, 784)))["letters"] == ["A"]
    assert [entry[0] for entry in server.log] == ["POST"] * 3
    bodies = {entry[4] for entry in server.log}
    assert len(bodies) == 1, "every retry sends the same request"
    waits = np.diff([entry[3] for entry in server.log])
    assert waits[1] >= 0.05, f"no backoff between retries: {waits}"


def test_retry_after_is_respected(server: Any) -> None:
    server.busy, server.retry_after = [429], "1"
    start = time.monotonic()
    assert ScoringClient(_uri(server), backoff_s=0.0).predict_pixels(np.zeros((1, 784)))["result"] == [0]
    assert time.monotonic() - start >= 0.9
    assert len(server.log) == 2


def test_busy_beyond_the_retries_raises_with_the_status(server: Any) -> None:
    server.busy = [503] * 5
    with pytest.raises(DeploymentError, match="503"):
        ScoringClient(_uri(server), retries=2, backoff_s=0.01).predict_pixels(np.zeros((1, 784)))
    assert len(server.log) == 3
    server.busy = [429] * 5
    with pytest.raises(RequestError) as info:
        ScoringClient(_uri(server), retries=1, backoff_s=0.01).predict_pixels(np.zeros((1, 784)))
    assert info.value.status == 429


def test_connections_are_reused(server: Any) -> None:
    client = ScoringClient(_uri(server))
    for _ in range(4):
        client.predict_pixels(np.zeros((1, 784)))
    assert len({entry[2] for entry in server.log}) == 1, "one TCP connection (client port) for all requests"


def test_the_oip_protocol_is_retried_too_and_answers_in_the_score_format(server: Any) -> None:
    server.busy = [503]
    client = ScoringClient(_uri(server, "/v2/models/m/infer"), protocol="oip", backoff_s=0.01)
    answer = client.predict_pixels(np.zeros((1, 28, 28), np.uint8), top_k=2)
    assert answer["result"] == [1] and answer["letters"] == ["B"]
    assert [p["probability"] for p in answer["probabilities"][0]] == [0.75, 0.25]
    sent = json.loads(next(e[4] for e in server.log if e[1].endswith("/infer") and e[4]))
    assert sent["inputs"][0]["datatype"] == "UINT8" and sent["inputs"][0]["shape"] == [1, 784]
    assert sent["parameters"] == {"top_k": 2}


def test_an_unreachable_service_is_a_deployment_error() -> None:
    with pytest.raises(DeploymentError, match="cannot reach"):
        ScoringClient("http://127.0.0.1:9/score", retries=1, backoff_s=0.01).predict_pixels(np.zeros((1, 784)))
