"""Logging and gunicorn settings of the local inference server (written into its app root).

The Azure ML inference server reads ``logging.json`` from its app root (``AML_APP_ROOT``) when
the file exists, and gunicorn adds the options in ``GUNICORN_CMD_ARGS`` to those ``azmlinfsrv``
passes. The local deployer uses both to:

* route this library's own log records (model loaded, rejected requests with their reason)
  into the server log, next to the server's;
* with ``access_log=False`` (the default), drop the three lines the server and gunicorn write
  for every request (``run() output is HTTP Response``, ``POST /score 200 1.2ms 195`` and the
  access line): writing them costs about a tenth of the CPU of a one-image request. Start-up
  lines, warnings, errors and rejected requests are still logged;
* turn off gunicorn's control socket (one fixed path per user, which concurrent local servers
  would fight over), where the installed gunicorn has one.

>>> cfg = logging_config(access_log=False)
>>> cfg["loggers"]["azmlinfsrv"]["filters"], cfg["loggers"]["gunicorn.access"]["level"]
(['drop_request_lines'], 'WARNING')
>>> DropRequestLines().filter(logging.makeLogRecord({"msg": "POST /score 200 1ms", "levelno": 20}))
False
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from asl_recognition._io import atomic_write_text

__all__ = ["DropRequestLines", "gunicorn_args", "logging_config", "write_logging_config"]

_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"
# what azmlinfsrv logs at INFO for every request (routes.py in azureml-inference-server-http)
_REQUEST_PREFIXES = ("POST /", "GET /", "OPTIONS /")
_REQUEST_LINES = frozenset({"run() output is HTTP Response"})


class DropRequestLines(logging.Filter):
    """Drop the inference server's per-request INFO lines; keep everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a per-request line."""
        msg = record.msg
        if record.levelno > logging.INFO or not isinstance(msg, str):
            return True
        return not (msg.startswith(_REQUEST_PREFIXES) or msg in _REQUEST_LINES)


class DropHealthProbes(logging.Filter):
    """Drop access-log lines of the health probe (``GET /``), like the server's own config."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a health-probe access line."""
        return "GET / HTTP/1.1" not in record.getMessage()


def logging_config(*, access_log: bool) -> dict[str, Any]:
    """The server's ``logging.json``: its own layout plus this library's loggers."""
    stdout = {"class": "logging.StreamHandler", "level": "INFO", "stream": "ext://sys.stdout", "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": _FORMAT}},
        "filters": {
            "drop_request_lines": {"()": f"{__name__}.DropRequestLines"},
            "drop_health_probes": {"()": f"{__name__}.DropHealthProbes"},
        },
        "handlers": {
            "stdout": stdout,
            "stderr": {**stdout, "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "azmlinfsrv": {
                "level": "INFO",
                "handlers": ["stdout"],
                "propagate": False,
                "filters": [] if access_log else ["drop_request_lines"],
            },
            "gunicorn.access": {
                "level": "INFO" if access_log else "WARNING",
                "handlers": ["stdout"],
                "filters": ["drop_health_probes"],
                "propagate": False,
            },
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "asl_recognition": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }


def write_logging_config(app_root: str | os.PathLike[str], *, access_log: bool) -> Path:
    """Write ``logging.json`` into the server's app root."""
    text = json.dumps(logging_config(access_log=access_log), indent=1)
    return atomic_write_text(Path(app_root) / "logging.json", text)


def gunicorn_args(*, access_log: bool) -> list[str]:
    """Extra gunicorn options (for ``GUNICORN_CMD_ARGS``) that the installed gunicorn knows."""
    try:
        from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - gunicorn comes with the server
        return []
    known = {s.name for s in KNOWN_SETTINGS}
    args: list[str] = []
    if not access_log:
        # azmlinfsrv always passes --access-logfile; this logger skips the access line
        # (and the work of formatting it) instead of formatting it and then dropping it
        args += ["--logger-class", "asl_recognition.deploy._gunicorn.QuietAccessLogger"]
    if "control_socket_disable" in known:
        args.append("--no-control-socket")
    return args
