"""A gunicorn logger without the access log, named in ``GUNICORN_CMD_ARGS`` by the local deployer.

Imported only inside the server process (it needs gunicorn).
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped,unused-ignore]

__all__ = ["QuietAccessLogger"]


class QuietAccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, minus the per-request access line."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Log nothing."""
