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

import atexit
import contextlib
import ctypes
import dataclasses
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from asl_recognition._validation import Interval, Text, check_param
from asl_recognition.deploy._openapi import write_swagger_files
from asl_recognition.deploy._requests import ScoringLimits
from asl_recognition.deploy._serverlog import gunicorn_args, write_logging_config
from asl_recognition.errors import DeploymentError
from asl_recognition.models import read_metadata

__all__ = ["MAX_DEFAULT_WORKERS", "LocalDeployer", "LocalService", "default_workers", "serve_foreground"]

logger = logging.getLogger(__name__)
server_logger = logging.getLogger(__name__ + ".server")

SCORE_SCRIPT = Path(__file__).with_name("score.py")
_READY_LINE = "ready for serving traffic"
_LOG_TAIL_LINES = 60
_live: set[LocalService] = set()
_live_lock = threading.Lock()
#: cap of the default worker count (each worker holds its own copy of the model)
MAX_DEFAULT_WORKERS = 5


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


_FREE_PORT_ATTEMPTS = 3
_ADDRESS_IN_USE = "Address already in use"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the server if the process that started it dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


class LocalService:
    """A running local inference server (see :class:`LocalDeployer`).

    Attributes:
        port: the TCP port it listens on.
        pid: process id of the gunicorn master (also its process-group id).
    """

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        process: subprocess.Popen[bytes],
        app_root: Path,
        key: str | None,
        workers: int,
    ) -> None:
        self._name = name
        self._host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.port = port
        self._process = process
        self.pid = process.pid
        self._app_root = app_root
        self._log_path = app_root / "server.log"
        self._key = key
        self._workers = workers
        self._deleted = False
        self._final_logs: str | None = None
        self._lock = threading.Lock()

    # -- Service protocol -------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Service name."""
        return self._name

    @property
    def base_uri(self) -> str:
        """``http://host:port``."""
        return f"http://{self._host}:{self.port}"

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

    @property
    def state(self) -> str:
        """``"Healthy"`` while the server runs, ``"Failed"`` if it died, else ``"Deleted"``."""
        if self._deleted:
            return "Deleted"
        return "Healthy" if self._process.poll() is None else "Failed"

    def get_logs(self) -> str:
        """Everything the server wrote to stdout/stderr so far (kept after :meth:`delete`)."""
        if self._final_logs is not None:
            return self._final_logs
        try:
            return self._log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def run(self, payload: Any) -> Any:
        """POST ``payload`` as JSON to the scoring URI and return the decoded answer.

        Raises:
            RequestError: the service rejected the payload (4xx); ``.status`` holds the code.
            DeploymentError: the service is unreachable or answered 5xx.
        """
        from asl_recognition.deploy.client import ScoringClient

        return ScoringClient(self.scoring_uri, key=self._key).post_json(payload)

    def delete(self) -> None:
        """Stop the server's whole process group and remove its files; safe to call twice."""
        with self._lock:
            if self._deleted:
                return
            self._final_logs = self.get_logs()
            _stop_group(self._process)
            shutil.rmtree(self._app_root, ignore_errors=True)
            self._deleted = True
        with _live_lock:
            _live.discard(self)
        logger.info("stopped local service %s (pid %d)", self._name, self.pid)

    # -- extras -----------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the server exits (or ``timeout`` seconds pass); return its exit code."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> LocalService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delete()

    def __repr__(self) -> str:
        return f"LocalService(name={self._name!r}, uri={self.scoring_uri!r}, state={self.state!r})"

    def _wait_healthy(self, deadline: float) -> None:
        """Poll the health route until every worker is ready; raise with the log if not."""
        health = f"{self.base_uri}/"
        healthy = False
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise DeploymentError(
                    f"local inference server exited with code {code} during start-up; "
                    f"server log:\n{_tail(self.get_logs())}"
                )
            if not healthy:
                try:
                    with urllib.request.urlopen(health, timeout=2) as resp:
                        healthy = resp.status == 200
                except (urllib.error.URLError, OSError):
                    pass
            if healthy and self.get_logs().count(_READY_LINE) >= self._workers:
                return
            time.sleep(0.1)
        raise DeploymentError(
            f"local inference server did not become healthy within the start-up timeout; "
            f"server log:\n{_tail(self.get_logs())}"
        )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (gunicorn's quick shutdown) to the group, then SIGKILL whatever is left."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        logger.warning("server pid %d did not stop on SIGINT; killing it", pgid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        services = list(_live)
    for service in services:
        with contextlib.suppress(Exception):
            service.delete()


@dataclasses.dataclass
class LocalDeployer:
    """Deploy a saved model to a local Azure ML inference server (no Docker).

    Args:
        host: bind address; ``127.0.0.1`` keeps the service on this machine.
        port: TCP port; None (or 0) picks a free one.
        workers: gunicorn worker processes (each loads the model); None: one per CPU core plus
            one, at most :data:`MAX_DEFAULT_WORKERS` (see :func:`default_workers`).
        key: if set, scoring requests need ``Authorization: Bearer <key>``.
        startup_timeout_s: how long to wait for all workers to be ready.
        scoring_timeout_ms: per-request scoring timeout (the server answers 500 after it).
        top_k: default number of classes per image in the answer.
        max_body_bytes, max_rows, max_images, max_image_pixels: request limits
            (see :class:`~asl_recognition.deploy._requests.ScoringLimits`).
        access_log: log a line per request (gunicorn's access log and the server's request
            lines, as on Azure); off by default, as writing them costs about a tenth of the CPU
            of a one-image request. Start-up lines, errors and rejected requests are logged
            either way.

    >>> LocalDeployer(workers=0)
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: 'workers' must be an integer >= 1, got 0
    """

    host: str = "127.0.0.1"
    port: int | None = None
    workers: int | None = None
    key: str | None = None
    startup_timeout_s: float = 120.0
    scoring_timeout_ms: int = 30_000
    top_k: int = 3
    max_body_bytes: int = ScoringLimits.max_body_bytes
    max_rows: int = ScoringLimits.max_rows
    max_images: int = ScoringLimits.max_images
    max_image_pixels: int = ScoringLimits.max_image_pixels
    access_log: bool = False
    limits: ScoringLimits = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_param("host", self.host, Text())
        check_param("port", self.port, None, Interval(int, 0, 65535))
        if self.workers is None:
            self.workers = default_workers()
        for name in ("workers", "scoring_timeout_ms", "top_k"):
            check_param(name, getattr(self, name), Interval(int, 1, None))
        check_param("access_log", self.access_log, bool)
        check_param("startup_timeout_s", self.startup_timeout_s, Interval(float, 0, None, closed="neither"))
        check_param("key", self.key, None, Text())
        self.limits = ScoringLimits(
            max_body_bytes=self.max_body_bytes,
            max_rows=self.max_rows,
            max_images=self.max_images,
            max_image_pixels=self.max_image_pixels,
        )

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> LocalService:
        """Start the server for the model in ``model_dir`` and wait until it is healthy.

        Raises:
            ModelFormatError: ``model_dir`` is not a model directory.
            DeploymentError: the server did not start; the message holds its log.
        """
        model_path = Path(model_dir).resolve()
        meta = read_metadata(model_path)  # fail fast, before starting anything
        name = name or f"asl-{meta.backend}-local"
        attempts = 1 if self.port else _FREE_PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return self._deploy_once(model_path, name=name)
            except DeploymentError as exc:
                # a free port can be taken by another process between the probe and the bind
                if attempt == attempts or _ADDRESS_IN_USE not in str(exc):
                    raise
                logger.info("local service %s: port taken before the server bound it; retrying", name)
        raise AssertionError("unreachable")  # pragma: no cover

    def _deploy_once(self, model_path: Path, *, name: str) -> LocalService:
        app_root = Path(tempfile.mkdtemp(prefix="asl-serve-"))
        try:
            write_swagger_files(app_root)
            write_logging_config(app_root, access_log=self.access_log)
            port = self.port or _free_port(self.host)
            service = self._start(model_path, name=name, port=port, app_root=app_root)
        except BaseException:
            shutil.rmtree(app_root, ignore_errors=True)
            raise
        try:
            service._wait_healthy(time.monotonic() + self.startup_timeout_s)
        except BaseException:
            service.delete()
            raise
        logger.info(
            "local service %s is healthy at %s (pid %d)", name, service.scoring_uri, service.pid
        )
        return service

    def _environment(self, model_path: Path, app_root: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("ASL_SCORING_KEY", None)
        env.update(self.limits.to_environ())
        env.update(
            {
                "AZUREML_MODEL_DIR": str(model_path),
                "AML_APP_ROOT": str(app_root),
                "SCORING_TIMEOUT_MS": str(self.scoring_timeout_ms),
                "WORKER_TIMEOUT": str(max(30, math.ceil(self.scoring_timeout_ms / 1000) + 30)),
                "ASL_TOP_K": str(self.top_k),
                "PYTHONUNBUFFERED": "1",
                "AML_APP_INSIGHTS_ENABLED": "false",
            }
        )
        # ours first: options the caller put in GUNICORN_CMD_ARGS come later and win
        extra = " ".join([*gunicorn_args(access_log=self.access_log), env.get("GUNICORN_CMD_ARGS", "")])
        if extra.strip():
            env["GUNICORN_CMD_ARGS"] = extra.strip()
        if self.key:
            env["ASL_SCORING_KEY"] = self.key
        return env

    def _start(self, model_path: Path, *, name: str, port: int, app_root: Path) -> LocalService:
        workers = self.workers or default_workers()
        cmd = [
            sys.executable, "-m", "asl_recognition.deploy._server", "--host", self.host, "--",
            "--entry_script", str(SCORE_SCRIPT), "--model_dir", str(model_path),
            "--port", str(port), "--worker_count", str(workers),
        ]  # fmt: skip
        logger.info("starting local inference server: %s", " ".join(cmd))
        in_main = threading.current_thread() is threading.main_thread()
        with open(app_root / "server.log", "wb") as log:
            process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=app_root,
                env=self._environment(model_path, app_root),
                start_new_session=True,  # own process group: delete() kills the workers too
                # PDEATHSIG follows the spawning *thread*; only safe from the main thread
                preexec_fn=_die_with_parent if in_main and sys.platform == "linux" else None,
            )
        service = LocalService(
            name=name, host=self.host, port=port, process=process, app_root=app_root,
            key=self.key, workers=workers,
        )  # fmt: skip
        with _live_lock:
            _live.add(service)
        return service


def serve_foreground(model_dir: str | os.PathLike[str], **params: Any) -> int:
    """Serve ``model_dir`` until Ctrl-C (or SIGTERM), forwarding the server log; for the CLI.

    Args:
        model_dir: a saved model directory.
        **params: :class:`LocalDeployer` parameters (host, port, workers, key, ...).

    Returns:
        0 after Ctrl-C/SIGTERM, 1 if the server stopped by itself.
    """
    service = LocalDeployer(**params).deploy(model_dir)
    logger.info(
        "serving %s\n  scoring: %s\n  demo page: %s\n  OpenAPI: %s\npress Ctrl-C to stop",
        model_dir, service.scoring_uri, service.demo_uri, service.swagger_uri,
    )  # fmt: skip
    previous = None
    if threading.current_thread() is threading.main_thread():

        def _terminate(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _terminate)
    sent = 0
    try:
        while True:
            logs = service.get_logs()
            for line in logs[sent:].splitlines():
                server_logger.info("%s", line)
            sent = len(logs)
            if service.wait(0.5) is not None:
                logger.error(
                    "the server stopped by itself; last log lines:\n%s", _tail(service.get_logs())
                )
                return 1
    except KeyboardInterrupt:
        logger.info("stopping %s", service.scoring_uri)
        return 0
    finally:
        service.delete()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
