"""Progress reporting for long loops (training epochs, sweeps, evaluation), in one place.

Library code reports progress through :func:`task`; how it is shown is decided once by the
application through :func:`configure`:

- ``"rich"``: a live progress display (rich) on standard error; nested tasks show as extra rows.
- ``"plain"``: INFO log lines on the ``asl_recognition.progress`` logger: one when a task
  starts, at most one every ``plain_interval`` seconds while it advances (with the estimated
  time left when the total is known), one when it ends.
- ``"quiet"``: nothing.
- ``"auto"`` (default): ``"rich"`` when standard error is a terminal and the ``CI``
  environment variable is unset, ``"plain"`` otherwise. Decided when each top-level task starts.

Tasks are thread-safe: several threads may advance the same or different tasks.

>>> configure("quiet")
>>> with task("training", total=3) as t:
...     for epoch in range(3):
...         t.advance(loss=0.5)
>>> t.completed, t.fields["loss"]
(3, 0.5)
>>> configure("auto")
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

from asl_recognition.errors import InvalidParameterError

__all__ = ["Mode", "ProgressTask", "configure", "format_duration", "task"]

logger = logging.getLogger(__name__)

Mode = Literal["auto", "rich", "plain", "quiet"]
_MODES: tuple[str, ...] = ("auto", "rich", "plain", "quiet")

_lock = threading.RLock()
_mode: Mode = "auto"
_plain_interval: float = 5.0
_live: Any = None  # the shared rich.progress.Progress while rich tasks are open
_live_users = 0


def configure(mode: Mode = "auto", *, plain_interval: float | None = None) -> None:
    """Choose how progress is shown (see the module docstring).

    Args:
        mode: ``"auto"``, ``"rich"``, ``"plain"`` or ``"quiet"``.
        plain_interval: in ``"plain"`` mode, the minimum number of seconds between two log lines
            of one task (default 5).
    """
    global _mode, _plain_interval
    if mode not in _MODES:
        raise InvalidParameterError(f"progress mode must be one of {', '.join(_MODES)}; got {mode!r}")
    if plain_interval is not None and plain_interval < 0:
        raise InvalidParameterError(f"'plain_interval' must be >= 0, got {plain_interval}")
    with _lock:
        _mode = mode
        if plain_interval is not None:
            _plain_interval = float(plain_interval)


def _resolve(mode: Mode) -> Literal["rich", "plain", "quiet"]:
    if mode != "auto":
        return mode
    is_tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
    return "rich" if is_tty and not os.environ.get("CI") else "plain"


def _format_fields(fields: dict[str, object]) -> str:
    parts = []
    for key, value in fields.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


class ProgressTask:
    """Handle to one running task; obtained from :func:`task`, never built directly.

    Attributes:
        description: what the task does.
        total: number of steps, or ``None`` if unknown.
        completed: steps done so far.
        fields: the latest extra values (e.g. ``loss``), shown next to the description.
    """

    def __init__(self, description: str, total: int | None, style: Literal["rich", "plain", "quiet"]) -> None:
        self.description = description
        self.total = total
        self.completed = 0
        self.fields: dict[str, object] = {}
        self._style = style
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_log = self._started
        self._rich_id: Any = None

    def advance(self, n: int = 1, **fields: object) -> None:
        """Mark ``n`` more steps done and update the displayed ``fields``."""
        with self._lock:
            self.completed += n
            self.fields.update(fields)
            self._render(force=False)

    def update(self, *, description: str | None = None, **fields: object) -> None:
        """Change the description and/or the displayed ``fields`` without advancing."""
        with self._lock:
            if description is not None:
                self.description = description
            self.fields.update(fields)
            self._render(force=False)

    # -- rendering ----------------------------------------------------------------------------
    def _text(self) -> str:
        extra = _format_fields(self.fields)
        return f"{self.description} {extra}".rstrip()

    def _render(self, *, force: bool) -> None:
        if self._style == "rich" and _live is not None and self._rich_id is not None:
            _live.update(self._rich_id, completed=self.completed, description=self._text())
        elif self._style == "plain":
            now = time.monotonic()
            if force or now - self._last_log >= _plain_interval:
                self._last_log = now
                logger.info("%s: %s%s", self._text(), self._counter(), self._eta(now))

    def _counter(self) -> str:
        if self.total:
            return f"{self.completed}/{self.total} ({100.0 * self.completed / self.total:.0f}%)"
        return f"{self.completed} done"

    def _eta(self, now: float) -> str:
        """`` ETA 1m05s`` from the mean pace so far; empty when unknown (no total, no step done)."""
        if not self.total or self.completed <= 0 or self.completed >= self.total:
            return ""
        remaining = (now - self._started) / self.completed * (self.total - self.completed)
        return f" ETA {format_duration(remaining)}"


def format_duration(seconds: float) -> str:
    """A short human duration: seconds below a minute, then minutes and seconds, then hours.

    >>> format_duration(4.2), format_duration(65), format_duration(3 * 3600 + 125)
    ('4s', '1m05s', '3h02m')
    """
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


@contextlib.contextmanager
def task(description: str, total: int | None = None) -> Iterator[ProgressTask]:
    """Report progress of one task for the duration of the ``with`` block.

    Args:
        description: what is being done ("training cnn", "evaluating sklearn").
        total: number of steps the task will :meth:`~ProgressTask.advance`, if known.
    """
    global _live, _live_users
    if total is not None and total < 0:
        raise InvalidParameterError(f"'total' must be >= 0 or None, got {total}")
    with _lock:
        style = _resolve(_mode) if _live is None else "rich"
        handle = ProgressTask(description, total, style)
        if style == "rich":
            if _live is None:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                _live = Progress(
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=Console(stderr=True),
                )
                _live.start()
            _live_users += 1
            handle._rich_id = _live.add_task(description, total=total)
        elif style == "plain":
            logger.info("%s: started%s", description, f" ({total} steps)" if total else "")
    try:
        yield handle
    finally:
        with _lock:
            elapsed = time.monotonic() - handle._started
            if style == "rich" and _live is not None:
                _live_users -= 1
                if _live_users > 0:  # a finished nested task leaves the display
                    _live.remove_task(handle._rich_id)
                else:  # the last one stays on screen as the final frame
                    _live.update(handle._rich_id, completed=handle.completed, description=handle._text())
                    _live.stop()
                    _live = None
            elif style == "plain":
                logger.info("%s: finished %s in %.1f s", handle._text(), handle._counter(), elapsed)
