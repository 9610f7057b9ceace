"""Local deployment without Docker: ``score.py`` served by the Azure ML inference server.

:class:`LocalDeployer` starts ``azmlinfsrv`` (the server Azure's inference images run, with
gunicorn workers) as a managed subprocess on ``127.0.0.1`` and a chosen or free port, waits
until every worker has loaded the model, and returns a :class:`LocalService`. The server runs
in its own process group; :meth:`LocalService.delete`, a failed start and interpreter exit all
stop the whole group, so nothing is left running.

The service answers on::

    POST /score           predictions (see asl_recognition.deploy.score)
    GET  /score           the demo page in a browser; JSON model description otherwise
    GET  /swagger.json    OpenAPI 2.0 (add ?version=3 for OpenAPI 3.0)
    GET  /                health probe ("Healthy")

Example (not run by doctest: it starts a server)::

    service = get_deployer("local", workers=2).deploy("models/sklearn")
    service.run({"data": [[0] * 784]})["letters"]
    service.delete()
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

from asl_recognition._validation import Interval, check_param
from asl_recognition.deploy import _process
from asl_recognition.deploy._openapi import write_swagger_files
from asl_recognition.deploy._process import (
    ManagedServer,
    ServerDeployerBase,
    serve_until_stopped,
    url_answers,
)
from asl_recognition.deploy._serverlog import gunicorn_args, write_logging_config

__all__ = ["MAX_DEFAULT_WORKERS", "LocalDeployer", "LocalService", "default_workers", "serve_foreground"]

logger = logging.getLogger(__name__)
server_logger = logging.getLogger(__name__ + ".server")

SCORE_SCRIPT = Path(__file__).with_name("score.py")
_READY_LINE = "ready for serving traffic"
#: cap of the default worker count (each worker holds its own copy of the model)
MAX_DEFAULT_WORKERS = 5
_free_port = _process.free_port  # a module attribute: the port-race test replaces it


def default_workers() -> int:
    """One gunicorn worker per CPU this process may use plus one, at most :data:`MAX_DEFAULT_WORKERS`.

    The workers are synchronous (one request at a time each, which keeps the server's scoring
    timeout working) and the scoring path is CPU-bound, so about one per core keeps the cores
    busy; the extra one works while another waits for its client to close the connection
    (gunicorn closes every connection after the answer). More only add context switches and
    wake-ups for each new connection (measured in ``docs/deploy.md``).
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cpus + 1))


class LocalService(ManagedServer):
    """A running local inference server (see :class:`LocalDeployer`).

    Attributes:
        port: the TCP port it listens on.
        pid: process id of the gunicorn master (also its process-group id).
    """

    server_title = "local inference server"

    def __init__(self, *, workers: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._workers = workers
        self._healthy = False

    # -- Service protocol -------------------------------------------------------------------
    @property
    def scoring_uri(self) -> str:
        """The scoring URL (POST requests; GET gives the demo page to browsers)."""
        return f"{self.base_uri}/score"

    @property
    def swagger_uri(self) -> str:
        """The OpenAPI 2.0 document (``?version=3`` for OpenAPI 3.0)."""
        return f"{self.base_uri}/swagger.json"

    @property
    def demo_uri(self) -> str:
        """The demo web page."""
        return f"{self.scoring_uri}?demo"

    def run(self, payload: Any) -> Any:
        """POST ``payload`` as JSON to the scoring URI and return the decoded answer.

        Raises:
            RequestError: the service rejected the payload (4xx); ``.status`` holds the code.
            DeploymentError: the service is unreachable or answered 5xx.
        """
        from asl_recognition.deploy.client import ScoringClient

        return ScoringClient(self.scoring_uri, key=self._key).post_json(payload)

    def __repr__(self) -> str:
        return f"LocalService(name={self._name!r}, uri={self.scoring_uri!r}, state={self.state!r})"

    def _ready(self) -> bool:
        """The health route answers and every worker has logged that it is ready."""
        self._healthy = self._healthy or url_answers(f"{self.base_uri}/")
        return self._healthy and self.get_logs().count(_READY_LINE) >= self._workers


@dataclasses.dataclass
class LocalDeployer(ServerDeployerBase):
    """Deploy a saved model to a local Azure ML inference server (no Docker).

    Args:
        host: bind address; ``127.0.0.1`` keeps the service on this machine.
        port: TCP port; None (or 0) picks a free one.
        workers: gunicorn worker processes (each loads the model); None: one per CPU core plus
            one, at most :data:`MAX_DEFAULT_WORKERS` (see :func:`default_workers`).
        key: if set, scoring requests need ``Authorization: Bearer <key>``.
        startup_timeout_s: how long to wait for all workers to be ready.
        top_k: default number of classes per image in the answer.
        max_body_bytes, max_rows, max_images, max_image_pixels: request limits
            (see :class:`~asl_recognition.deploy._requests.ScoringLimits`).
        access_log: log a line per request (gunicorn's access log and the server's request
            lines, as on Azure); off by default, as writing them costs about a tenth of the CPU
            of a one-image request. Start-up lines, errors and rejected requests are logged
            either way.
        runtime: ``"fastest"`` (default) serves the model's ONNX export through onnxruntime
            when the directory has one, ``"native"`` the flavour's own runtime.
        scoring_timeout_ms: per-request scoring timeout (the server answers 500 after it).

    >>> LocalDeployer(workers=0)
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: 'workers' must be an integer >= 1, got 0
    """

    scoring_timeout_ms: int = 30_000

    def default_workers(self) -> int:
        """See :func:`default_workers`."""
        return default_workers()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_param("scoring_timeout_ms", self.scoring_timeout_ms, Interval(int, 1, None))

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> LocalService:
        """Start the server for the model in ``model_dir`` and wait until it is healthy.

        Raises:
            ModelFormatError: ``model_dir`` is not a model directory.
            DeploymentError: the server did not start; the message holds its log.
        """
        service: LocalService = super().deploy(model_dir, name=name)
        return service

    def _default_name(self, backend: str) -> str:
        return f"asl-{backend}-local"

    def _deploy_once(self, model_path: Path, *, name: str, backend: str) -> LocalService:
        def start(app_root: Path) -> LocalService:
            write_swagger_files(app_root)
            write_logging_config(app_root, access_log=self.access_log)
            port = self.port or _free_port(self.host)
            return self._start(model_path, name=name, port=port, app_root=app_root)

        service = _process.start_and_wait(start, prefix="asl-serve-", startup_timeout_s=self.startup_timeout_s)
        logger.info(
            "local service %s is healthy at %s (pid %d)", name, service.scoring_uri, service.pid
        )
        return service

    def _environment(self, model_path: Path, app_root: Path) -> dict[str, str]:
        env = self.scoring_environ(model_path, app_root)
        env.update(
            {
                "SCORING_TIMEOUT_MS": str(self.scoring_timeout_ms),
                "WORKER_TIMEOUT": str(max(30, math.ceil(self.scoring_timeout_ms / 1000) + 30)),
                "AML_APP_INSIGHTS_ENABLED": "false",
            }
        )
        # ours first: options the caller put in GUNICORN_CMD_ARGS come later and win
        extra = " ".join([*gunicorn_args(access_log=self.access_log), env.get("GUNICORN_CMD_ARGS", "")])
        if extra.strip():
            env["GUNICORN_CMD_ARGS"] = extra.strip()
        return env

    def _start(self, model_path: Path, *, name: str, port: int, app_root: Path) -> LocalService:
        workers = self.workers or default_workers()
        cmd = [
            sys.executable, "-m", "asl_recognition.deploy._server", "--host", self.host, "--",
            "--entry_script", str(SCORE_SCRIPT), "--model_dir", str(model_path),
            "--port", str(port), "--worker_count", str(workers),
        ]  # fmt: skip
        process = _process.spawn(cmd, env=self._environment(model_path, app_root), app_root=app_root)
        return LocalService(
            name=name, host=self.host, port=port, process=process, app_root=app_root,
            key=self.key, workers=workers,
        )  # fmt: skip


def serve_foreground(model_dir: str | os.PathLike[str], **params: Any) -> int:
    """Serve ``model_dir`` until Ctrl-C (or SIGTERM), forwarding the server log; for the CLI.

    Args:
        model_dir: a saved model directory.
        **params: :class:`LocalDeployer` parameters (host, port, workers, key, ...).

    Returns:
        0 after Ctrl-C/SIGTERM, 1 if the server stopped by itself.
    """
    service = LocalDeployer(**params).deploy(model_dir)
    banner = (
        f"serving {model_dir}\n  scoring: {service.scoring_uri}\n  demo page: {service.demo_uri}\n"
        f"  OpenAPI: {service.swagger_uri}"
    )
    return serve_until_stopped(service, banner, forward=server_logger)
