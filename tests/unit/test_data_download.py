"""Download over real HTTP from a local http.server on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asl_recognition.data import OFFICIAL_FINGERPRINTS, Dataset, load_dataset
from asl_recognition.data._download import download_csv
from asl_recognition.data._synthetic import synthetic_groups, to_csv_bytes
from asl_recognition.errors import DatasetError, DatasetIntegrityError

IMAGES, LABELS, _ = synthetic_groups(n_groups=4, per_group=2, seed=9)
CSV = to_csv_bytes(IMAGES, LABELS)
FINGERPRINT = Dataset.from_arrays(IMAGES, LABELS).fingerprint


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.startswith("/slow/"):
            time.sleep(1.5)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """``(base URL, served folder, request log)`` of a real HTTP server on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    log: list[str] = []
    handler = functools.partial(type("H", (_Handler,), {"requests": log}), directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root, log
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_success(server: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    base, root, log = server
    (root / "d.csv").write_bytes(CSV)
    dest = tmp_path / "out" / "sign_mnist_test.csv"
    assert download_csv([f"{base}/d.csv"], dest, expected_fingerprint=FINGERPRINT) == dest
    assert dest.read_bytes() == CSV and log == ["/d.csv"]
    assert _leftovers(dest.parent) == ["sign_mnist_test.csv"]


def test_404_falls_through_to_the_next_url(
    server: tuple[str, Path, list[str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base, root, log = server
    (root / "good.csv").write_bytes(CSV)
    dest = tmp_path / "out" / "x.csv"
    download_csv([f"{base}/missing.csv", f"{base}/good.csv"], dest, expected_fingerprint=None)
    assert log == ["/missing.csv", "/good.csv"]
    assert "404" in caplog.text and dest.read_bytes() == CSV
    assert _leftovers(dest.parent) == ["x.csv"]


def test_modified_file_is_rejected_and_nothing_is_left(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, root, _ = server
    modified = LABELS.copy()
    modified[-1] = 0 if modified[-1] else 1
    (root / "d.csv").write_bytes(to_csv_bytes(IMAGES, modified))
    dest = tmp_path / "out" / "d.csv"
    with pytest.raises(DatasetIntegrityError, match="differs from the expected"):
        download_csv([f"{base}/d.csv"], dest, expected_fingerprint=FINGERPRINT)
    assert _leftovers(dest.parent) == []


def test_malformed_file_is_rejected(server: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    base, root, _ = server
    (root / "d.csv").write_bytes(b"<html>rate limited</html>\n")
    dest = tmp_path / "out" / "d.csv"
    with pytest.raises(DatasetError, match="row 1"):
        download_csv([f"{base}/d.csv"], dest, expected_fingerprint=None)
    assert _leftovers(dest.parent) == []


def test_all_urls_fail_lists_each(server: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    base, _, _ = server
    urls = [f"{base}/a.csv", "http://127.0.0.1:9/refused.csv"]
    with pytest.raises(DatasetError) as info:
        download_csv(urls, tmp_path / "d.csv", expected_fingerprint=None, timeout=5)
    assert not isinstance(info.value, DatasetIntegrityError)
    for url in urls:
        assert url in str(info.value)
    assert "404" in str(info.value)


def test_timeout(server: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    base, root, _ = server
    (root / "slow").mkdir()
    (root / "slow" / "d.csv").write_bytes(CSV)
    with pytest.raises(DatasetError, match="timed out"):
        download_csv([f"{base}/slow/d.csv"], tmp_path / "d.csv", expected_fingerprint=None, timeout=0.3)


def test_load_dataset_downloads_into_the_cache_once(
    server: tuple[str, Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root, log = server
    (root / "test.csv").write_bytes(CSV)
    monkeypatch.delenv("ASL_DATA_DIR", raising=False)
    monkeypatch.setitem(OFFICIAL_FINGERPRINTS, "test", FINGERPRINT)  # pretend it is official
    cache = tmp_path / "cache"
    urls = {"train": [f"{base}/nothing.csv"], "test": [f"{base}/test.csv"]}  # as in the YAML
    kwargs = {"urls": urls, "cache_dir": cache, "download": True}
    ds = load_dataset("test", tmp_path / "empty", **kwargs)  # type: ignore[arg-type]
    assert ds.source == cache / "data" / "sign_mnist_test.csv" and ds.name == "test"
    again = load_dataset("test", tmp_path / "empty", **kwargs)  # type: ignore[arg-type]
    assert again.fingerprint == FINGERPRINT and log == ["/test.csv"]


def test_load_dataset_rejects_a_download_that_is_not_official(
    server: tuple[str, Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root, _ = server
    (root / "train.csv").write_bytes(CSV)
    monkeypatch.delenv("ASL_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    with pytest.raises(DatasetIntegrityError):
        load_dataset("train", urls=[f"{base}/train.csv"], cache_dir=cache, download=True)
    assert _leftovers(cache / "data") == []
