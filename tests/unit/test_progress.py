"""asl_recognition.progress: modes, plain log lines, rate limiting, nesting, threads."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator

import pytest

from asl_recognition import progress
from asl_recognition.errors import InvalidParameterError


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    progress.configure("auto", plain_interval=5.0)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asl_recognition.progress"]


def test_plain_mode_logs_start_progress_and_end(caplog: pytest.LogCaptureFixture) -> None:
    progress.configure("plain", plain_interval=0)
    with (
        caplog.at_level(logging.INFO, logger="asl_recognition.progress"),
        progress.task("training", total=4) as t,
    ):
        t.advance(2, loss=0.25)
        t.update(description="training cnn", epoch=3)
    messages = _messages(caplog)
    assert messages[0] == "training: started (4 steps)"
    assert any(m.startswith("training loss=0.25: 2/4 (50%) ETA ") for m in messages)
    assert messages[-1].startswith("training cnn loss=0.25 epoch=3: finished 2/4 (50%) in ")


def test_plain_mode_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    progress.configure("plain", plain_interval=3600)
    with (
        caplog.at_level(logging.INFO, logger="asl_recognition.progress"),
        progress.task("loop", total=1000) as t,
    ):
        for _ in range(1000):
            t.advance()
    assert len(_messages(caplog)) == 2  # started + finished only
    assert t.completed == 1000


def test_quiet_mode_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    progress.configure("quiet")
    with caplog.at_level(logging.DEBUG), progress.task("x", total=2) as t:
        t.advance(2)
    assert _messages(caplog) == []
    assert t.completed == 2


def test_auto_is_plain_without_a_tty_or_in_ci(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FakeTTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", FakeTTY())
    monkeypatch.setenv("CI", "1")
    progress.configure("auto")
    with caplog.at_level(logging.INFO, logger="asl_recognition.progress"), progress.task("ci job"):
        pass
    assert _messages(caplog)[0] == "ci job: started"


def test_rich_mode_nested_tasks_render_to_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeTTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = FakeTTY()
    monkeypatch.setattr("sys.stderr", fake)
    monkeypatch.delenv("CI", raising=False)
    progress.configure("auto")
    with progress.task("sweep", total=2) as outer:
        for trial in range(2):
            with progress.task(f"trial {trial}", total=3) as inner:
                inner.advance(3, loss=0.5)
            outer.advance(best=0.9)
        assert progress._live is not None  # one shared live display
    assert progress._live is None
    out = fake.getvalue()
    assert "sweep" in out
    assert "2/2" in out


def test_threads_can_advance_one_task() -> None:
    progress.configure("quiet")
    with progress.task("parallel", total=4000) as t:
        threads = [threading.Thread(target=lambda: [t.advance() for _ in range(1000)]) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert t.completed == 4000


def test_bad_arguments() -> None:
    with pytest.raises(InvalidParameterError, match="progress mode must be one of auto, rich, plain, quiet"):
        progress.configure("loud")  # type: ignore[arg-type]
    with (
        pytest.raises(InvalidParameterError, match="'total' must be >= 0"),
        progress.task("x", total=-1),
    ):
        pass


def test_plain_mode_shows_the_time_left_only_when_the_total_is_known(caplog: pytest.LogCaptureFixture) -> None:
    progress.configure("plain", plain_interval=0)
    with caplog.at_level(logging.INFO, logger="asl_recognition.progress"):
        with progress.task("known", total=4) as t:
            t.advance()
        with progress.task("open-ended") as u:
            u.advance()
    messages = _messages(caplog)
    assert re.fullmatch(r"known: 1/4 \(25%\) ETA \d+s", messages[1])
    assert "open-ended: 1 done" in messages
    assert not any("ETA" in m for m in messages if "finished" in m or "open-ended" in m)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.4, "59s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"), (-3, "0s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert progress.format_duration(seconds) == text
