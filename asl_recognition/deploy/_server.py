"""Start the Azure ML inference server (``azmlinfsrv``) bound to a chosen host.

``azmlinfsrv`` always binds ``0.0.0.0``; the local deployer must bind ``127.0.0.1`` by default.
This launcher runs the server's own entry point (same argument parsing, environment set-up,
gunicorn settings and Flask app) and only replaces the bind address::

    python -m asl_recognition.deploy._server --host 127.0.0.1 -- --entry_script score.py ...

Everything after ``--`` is passed to ``azmlinfsrv`` unchanged.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Parse ``--host HOST --`` and run ``azmlinfsrv`` with the remaining arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    host = "127.0.0.1"
    if args[:1] == ["--host"]:
        host, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    from azureml_inference_server_http import amlserver

    # amlserver.run() passes its module-level DEFAULT_HOST (imported from .constants) to gunicorn
    amlserver.DEFAULT_HOST = host  # type: ignore[attr-defined,unused-ignore]
    sys.argv = ["azmlinfsrv", *args]
    amlserver.run()


if __name__ == "__main__":
    main()
