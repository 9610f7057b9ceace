"""What every local server front end shares: a managed server subprocess in its own group.

:class:`ManagedServer` is the base of the local services (``/score`` through ``azmlinfsrv``,
OIP v2 through KServe's model server): it owns the server process, its log file and its
temporary directory, and stops the whole process group on :meth:`~ManagedServer.delete`, on a
failed start and at interpreter exit, so nothing is left running. :func:`spawn` starts a
server that way, :func:`deploy_with_port_retry` retries a start whose free port was taken, and
:func:`serve_until_stopped` runs one in the foreground for the CLI.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import logging
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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from asl_recognition._validation import Interval, Options, Text, check_param
from asl_recognition.deploy._requests import ScoringLimits
from asl_recognition.deploy._scoring import RUNTIMES
from asl_recognition.errors import DeploymentError

__all__ = [
    "ManagedServer",
    "ServerDeployerBase",
    "deploy_with_port_retry",
    "die_with_parent",
    "free_port",
    "serve_until_stopped",
    "spawn",
    "start_and_wait",
    "stop_group",
    "tail",
    "url_answers",
]

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 60
FREE_PORT_ATTEMPTS = 3
ADDRESS_IN_USE = "Address already in use"
_live: set[ManagedServer] = set()
_live_lock = threading.Lock()
_S = TypeVar("_S", bound="ManagedServer")


def free_port(host: str) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.splitlines()[-lines:])


def url_answers(url: str, *, timeout: float = 2.0) -> bool:
    """Whether a GET on ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the server if the process that started it dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def stop_group(process: subprocess.Popen[bytes], stop_signal: int = signal.SIGINT) -> None:
    """``stop_signal`` to the group, then SIGKILL whatever is left."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, stop_signal)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        logger.warning("server pid %d did not stop on signal %d; killing it", pgid, stop_signal)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


class ManagedServer:
    """A server subprocess in its own process group, with its log file and temporary directory.

    Subclasses name their URIs and say when the server is ready (:meth:`_ready`).

    Attributes:
        port: the TCP port it listens on.
        pid: process id of the server (also its process-group id).
    """

    #: what the whole group is sent first on delete() (SIGKILL follows after 10 s)
    stop_signal: int = signal.SIGINT
    #: what the start-up error messages call the server
    server_title: str = "local server"

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        process: subprocess.Popen[bytes],
        app_root: Path,
        key: str | None,
    ) -> None:
        self._name = name
        self._host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.port = port
        self._process = process
        self.pid = process.pid
        self._app_root = app_root
        self._log_path = app_root / "server.log"
        self._key = key
        self._deleted = False
        self._final_logs: str | None = None
        self._lock = threading.Lock()
        with _live_lock:
            _live.add(self)

    @property
    def name(self) -> str:
        """Service name."""
        return self._name

    @property
    def base_uri(self) -> str:
        """``http://host:port``."""
        return f"http://{self._host}:{self.port}"

    @property
    def key(self) -> str | None:
        """The key requests need (``Authorization: Bearer <key>``), or None."""
        return self._key

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

    def delete(self) -> None:
        """Stop the server's whole process group and remove its files; safe to call twice."""
        with self._lock:
            if self._deleted:
                return
            self._final_logs = self.get_logs()
            stop_group(self._process, self.stop_signal)
            shutil.rmtree(self._app_root, ignore_errors=True)
            self._deleted = True
        with _live_lock:
            _live.discard(self)
        logger.info("stopped %s %s (pid %d)", self.server_title, self._name, self.pid)

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the server exits (or ``timeout`` seconds pass); return its exit code."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delete()

    def _ready(self) -> bool:
        """Whether the server answers requests yet (subclasses probe their health route)."""
        raise NotImplementedError

    def wait_ready(self, deadline: float) -> None:
        """Poll :meth:`_ready` until ``deadline`` (a ``time.monotonic()`` value); raise with the log."""
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise DeploymentError(
                    f"{self.server_title} exited with code {code} during start-up; "
                    f"server log:\n{tail(self.get_logs())}"
                )
            if self._ready():
                return
            time.sleep(0.1)
        raise DeploymentError(
            f"{self.server_title} did not become healthy within the start-up timeout; "
            f"server log:\n{tail(self.get_logs())}"
        )


def spawn(cmd: Sequence[str], *, env: Mapping[str, str], app_root: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own process group, logging to ``app_root/server.log``."""
    logger.info("starting server: %s", " ".join(cmd))
    in_main = threading.current_thread() is threading.main_thread()
    with open(app_root / "server.log", "wb") as log:
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=app_root,
            env=dict(env),
            start_new_session=True,  # own process group: delete() stops its children too
            # PDEATHSIG follows the spawning *thread*; only safe from the main thread
            preexec_fn=die_with_parent if in_main and sys.platform == "linux" else None,
        )


def start_and_wait(
    start: Callable[[Path], _S], *, prefix: str, startup_timeout_s: float
) -> _S:
    """Make a temporary directory, ``start(app_root)`` a server in it, wait until it is ready.

    The directory is removed when the start fails, the server stopped when it never gets ready.
    """
    app_root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        service = start(app_root)
    except BaseException:
        shutil.rmtree(app_root, ignore_errors=True)
        raise
    try:
        service.wait_ready(time.monotonic() + startup_timeout_s)
    except BaseException:
        service.delete()
        raise
    return service


def deploy_with_port_retry(deploy_once: Callable[[], _S], *, fixed_port: bool, name: str) -> _S:
    """``deploy_once()``, again (up to three times) when its free port was taken meanwhile."""
    attempts = 1 if fixed_port else FREE_PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return deploy_once()
        except DeploymentError as exc:
            # a free port can be taken by another process between the probe and the bind
            if attempt == attempts or ADDRESS_IN_USE not in str(exc):
                raise
            logger.info("service %s: port taken before the server bound it; retrying", name)
    raise AssertionError("unreachable")  # pragma: no cover


def serve_until_stopped(service: ManagedServer, banner: str, *, forward: logging.Logger) -> int:
    """Forward ``service``'s log to ``forward`` until Ctrl-C/SIGTERM, then delete it (for the CLI).

    Returns:
        0 after Ctrl-C/SIGTERM, 1 if the server stopped by itself.
    """
    logger.info("%s\npress Ctrl-C to stop", banner)
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
                forward.info("%s", line)
            sent = len(logs)
            if service.wait(0.5) is not None:
                logger.error("the server stopped by itself; last log lines:\n%s", tail(service.get_logs()))
                return 1
    except KeyboardInterrupt:
        logger.info("stopping %s", service.base_uri)
        return 0
    finally:
        service.delete()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        services = list(_live)
    for service in services:
        with contextlib.suppress(Exception):
            service.delete()


@dataclasses.dataclass
class ServerDeployerBase:
    """The parameters every local server deployer takes (see ``LocalDeployer``, ``OipDeployer``).

    Args:
        host: bind address; ``127.0.0.1`` keeps the service on this machine.
        port: TCP port; None (or 0) picks a free one.
        workers: server worker processes (each loads the model); None: the deployer's default.
        key: if set, scoring requests need ``Authorization: Bearer <key>``.
        startup_timeout_s: how long to wait for the server to be ready.
        top_k: default number of classes per image in the answer.
        max_body_bytes, max_rows, max_images, max_image_pixels: request limits
            (see :class:`~asl_recognition.deploy._requests.ScoringLimits`).
        access_log: log a line per request; off by default (it costs CPU on every request).
        runtime: ``"fastest"`` serves the model's ONNX export through onnxruntime when the
            directory has one, ``"native"`` the flavour's own runtime (Keras for a Keras model).
    """

    host: str = "127.0.0.1"
    port: int | None = None
    workers: int | None = None
    key: str | None = None
    startup_timeout_s: float = 120.0
    top_k: int = 3
    max_body_bytes: int = ScoringLimits.max_body_bytes
    max_rows: int = ScoringLimits.max_rows
    max_images: int = ScoringLimits.max_images
    max_image_pixels: int = ScoringLimits.max_image_pixels
    access_log: bool = False
    runtime: str = "fastest"
    limits: ScoringLimits = dataclasses.field(init=False, repr=False)

    def default_workers(self) -> int:
        """The worker count when ``workers`` is None."""
        return 1

    def __post_init__(self) -> None:
        check_param("host", self.host, Text())
        check_param("port", self.port, None, Interval(int, 0, 65535))
        if self.workers is None:
            self.workers = self.default_workers()
        for name in ("workers", "top_k"):
            check_param(name, getattr(self, name), Interval(int, 1, None))
        check_param("access_log", self.access_log, bool)
        check_param("startup_timeout_s", self.startup_timeout_s, Interval(float, 0, None, closed="neither"))
        check_param("key", self.key, None, Text())
        check_param("runtime", self.runtime, Options(RUNTIMES))
        self.limits = ScoringLimits(
            max_body_bytes=self.max_body_bytes,
            max_rows=self.max_rows,
            max_images=self.max_images,
            max_image_pixels=self.max_image_pixels,
        )

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> Any:
        """Start the server for the model in ``model_dir`` and wait until it is ready.

        Raises:
            ModelFormatError: ``model_dir`` is not a model directory.
            DeploymentError: the server did not start; the message holds its log.
        """
        from asl_recognition.models import read_metadata

        self._check_installed()
        model_path = Path(model_dir).resolve()
        meta = read_metadata(model_path)  # fail fast, before starting anything
        name = name or self._default_name(meta.backend)
        return deploy_with_port_retry(
            lambda: self._deploy_once(model_path, name=name, backend=meta.backend),
            fixed_port=bool(self.port),
            name=name,
        )

    def _check_installed(self) -> None:
        """Raise ``MissingDependencyError`` when the server's extra is missing."""

    def _default_name(self, backend: str) -> str:
        raise NotImplementedError

    def _deploy_once(self, model_path: Path, *, name: str, backend: str) -> Any:
        raise NotImplementedError

    def scoring_environ(self, model_path: Path, app_root: Path) -> dict[str, str]:
        """The server's environment: this one plus the model, limits, key and top-k settings."""
        env = dict(os.environ)
        env.pop("ASL_SCORING_KEY", None)
        env.update(self.limits.to_environ())
        env.update(
            {
                "AZUREML_MODEL_DIR": str(model_path),
                "AML_APP_ROOT": str(app_root),
                "ASL_TOP_K": str(self.top_k),
                "ASL_RUNTIME": self.runtime,
                "WORKER_COUNT": str(self.workers),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.key:
            env["ASL_SCORING_KEY"] = self.key
        return env
