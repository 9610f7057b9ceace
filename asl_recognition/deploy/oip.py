"""Local deployment through the Open Inference Protocol (v2 REST), served by KServe's model server.

:class:`OipDeployer` starts :mod:`asl_recognition.deploy._oip` (KServe's REST server around the
library's one scoring path) as a managed subprocess on ``127.0.0.1`` and a chosen or free port,
waits until every worker is ready and returns an :class:`OipService`. Like the ``/score``
service (:mod:`asl_recognition.deploy.local`) it runs in its own process group, takes the same
key and the same request limits, and stops with :meth:`OipService.delete` or at interpreter exit.

The service answers on::

    GET  /v2/health/live, /v2/health/ready       health (no key needed)
    GET  /v2/models/{name}                       metadata: tensors, datatypes, shapes, letters
    POST /v2/models/{name}/infer                 inference (OIP JSON or binary tensors)

Example (not run by doctest: it starts a server)::

    service = get_deployer("oip").deploy("models/sklearn")
    service.infer_pixels(np.zeros((1, 28, 28), np.uint8))["letters"]
    service.delete()
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from asl_recognition._validation import Interval, Text, check_param
from asl_recognition.deploy import _process
from asl_recognition.deploy._process import (
    ManagedServer,
    ServerDeployerBase,
    serve_until_stopped,
    url_answers,
)
from asl_recognition.errors import MissingDependencyError

__all__ = ["OipDeployer", "OipService", "serve_foreground"]

logger = logging.getLogger(__name__)
server_logger = logging.getLogger(__name__ + ".server")

_READY_LINE = "ready for serving traffic"  # asl_recognition.deploy._oip.READY_LINE (kserve-free here)


class OipService(ManagedServer):
    """A running OIP v2 server (see :class:`OipDeployer`).

    Attributes:
        port: the TCP port it listens on.
        pid: process id of the first server process (also the process-group id).
        model_name: the model's name in the routes (``/v2/models/<model_name>``).
    """

    server_title = "OIP server"

    def __init__(self, *, model_name: str, workers: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self._workers = workers

    @property
    def scoring_uri(self) -> str:
        """The inference URL (``POST`` OIP v2 requests)."""
        return f"{self.base_uri}/v2/models/{self.model_name}/infer"

    @property
    def metadata_uri(self) -> str:
        """The model metadata URL."""
        return f"{self.base_uri}/v2/models/{self.model_name}"

    @property
    def swagger_uri(self) -> str | None:
        """None: the OIP server publishes no OpenAPI document (the protocol is its own spec)."""
        return None

    def run(self, payload: Any) -> Any:
        """POST an OIP inference request (a JSON-able dict) and return the decoded answer.

        Raises:
            RequestError: the service rejected the payload (4xx); ``.status`` holds the code.
            DeploymentError: the service is unreachable or answered 5xx.
        """
        return self.client().post_json(payload)

    def client(self) -> Any:
        """A :class:`~asl_recognition.deploy.client.ScoringClient` for this service."""
        from asl_recognition.deploy.client import ScoringClient

        return ScoringClient(self.scoring_uri, key=self._key, protocol="oip")

    def __repr__(self) -> str:
        return f"OipService(name={self._name!r}, uri={self.scoring_uri!r}, state={self.state!r})"

    def _ready(self) -> bool:
        return url_answers(f"{self.base_uri}/v2/health/ready") and (
            self.get_logs().count(_READY_LINE) >= self._workers
        )


@dataclasses.dataclass
class OipDeployer(ServerDeployerBase):
    """Deploy a saved model to a local OIP v2 REST server (KServe's model server, no Docker).

    Args:
        host: bind address; ``127.0.0.1`` keeps the service on this machine.
        port: TCP port; None (or 0) picks a free one.
        workers: server processes (each loads the model and accepts on the one socket);
            None: as for ``/score``, one per CPU this process may use plus one, at most 5.
        key: if set, ``/v2/models/...`` requests need ``Authorization: Bearer <key>``.
        startup_timeout_s: how long to wait for every worker to be ready.
        top_k: default ``top_k`` (checked against the model's classes as on ``/score``).
        max_body_bytes, max_rows, max_images, max_image_pixels: request limits
            (see :class:`~asl_recognition.deploy._requests.ScoringLimits`).
        access_log: log a line per request (uvicorn's access log).
        runtime: ``"fastest"`` (default) serves the model's ONNX export through onnxruntime
            when the directory has one, ``"native"`` the flavour's own runtime.
        model_name: the model's name in the routes; None: ``asl-<backend>``.
        threads: scoring threads per worker (requests a worker scores at once); 1, like the
            ``/score`` service's synchronous workers: the scoring path is CPU-bound.

    >>> OipDeployer(threads=0)
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: 'threads' must be an integer >= 1, got 0
    """

    model_name: str | None = None
    threads: int = 1

    def default_workers(self) -> int:
        """As for ``/score``: see :func:`asl_recognition.deploy.local.default_workers`."""
        from asl_recognition.deploy.local import default_workers

        return default_workers()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_param("threads", self.threads, Interval(int, 1, None))
        check_param("model_name", self.model_name, None, Text())

    def deploy(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> OipService:
        """Start the server for the model in ``model_dir`` and wait until it is ready.

        Raises:
            ModelFormatError: ``model_dir`` is not a model directory.
            MissingDependencyError: KServe is not installed (``pip install 'asl-recognition[oip]'``).
            DeploymentError: the server did not start; the message holds its log.
        """
        service: OipService = super().deploy(model_dir, name=name)
        return service

    def _check_installed(self) -> None:
        if importlib.util.find_spec("kserve") is None:  # fail fast (importing it here is slow)
            raise MissingDependencyError(
                "the OIP deployer needs the optional dependency 'kserve', which is not installed; "
                'install it with: pip install "asl-recognition[oip]"'
            )

    def _default_name(self, backend: str) -> str:
        return f"{self.model_name or f'asl-{backend}'}-oip"

    def _deploy_once(self, model_path: Path, *, name: str, backend: str) -> OipService:
        workers = int(self.workers or 1)
        model_name = self.model_name or f"asl-{backend}"

        def start(app_root: Path) -> OipService:
            port = self.port or _process.free_port(self.host)
            cmd = [
                sys.executable, "-m", "asl_recognition.deploy._oip", "--host", self.host,
                "--port", str(port), "--name", model_name, "--workers", str(workers),
                "--threads", str(self.threads), *(["--access-log"] if self.access_log else []),
            ]  # fmt: skip
            process = _process.spawn(cmd, env=self.scoring_environ(model_path, app_root), app_root=app_root)
            return OipService(
                name=name, host=self.host, port=port, process=process, app_root=app_root,
                key=self.key, model_name=model_name, workers=workers,
            )  # fmt: skip

        service = _process.start_and_wait(start, prefix="asl-oip-", startup_timeout_s=self.startup_timeout_s)
        logger.info("OIP service %s is ready at %s (pid %d)", name, service.scoring_uri, service.pid)
        return service


def serve_foreground(model_dir: str | os.PathLike[str], **params: Any) -> int:
    """Serve ``model_dir`` over OIP v2 until Ctrl-C (or SIGTERM), forwarding the log; for the CLI.

    Returns:
        0 after Ctrl-C/SIGTERM, 1 if the server stopped by itself.
    """
    service = OipDeployer(**params).deploy(model_dir)
    banner = (
        f"serving {model_dir} (Open Inference Protocol v2)\n  inference: {service.scoring_uri}\n"
        f"  metadata: {service.metadata_uri}\n  health: {service.base_uri}/v2/health/ready"
    )
    return serve_until_stopped(service, banner, forward=server_logger)
