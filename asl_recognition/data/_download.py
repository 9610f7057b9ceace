"""Download a CSV from a list of URLs, accepting it only when its content fingerprint matches.

The body is streamed into a temporary sibling of the destination, parsed and fingerprinted, and
moved into place with :func:`os.replace` only if it matches; a failed URL (HTTP error, timeout,
malformed or modified content) leaves nothing behind and the next URL is tried.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from asl_recognition.data._csv import parse_csv_bytes, read_csv_file
from asl_recognition.data._fingerprint import content_fingerprint
from asl_recognition.errors import DatasetError, DatasetIntegrityError

__all__ = ["download_csv"]

_log = logging.getLogger(__name__)
_CHUNK = 1 << 20


def download_csv(
    urls: Sequence[str],
    dest: Path,
    *,
    expected_fingerprint: str | None,
    timeout: float = 60.0,
) -> Path:
    """Fetch the first URL of ``urls`` whose content parses and matches ``expected_fingerprint``.

    Args:
        urls: candidate URLs, tried in order.
        dest: where the accepted file is placed (its folder is created).
        expected_fingerprint: content fingerprint the parsed file must have (``None``: any
            valid Sign MNIST CSV is accepted).
        timeout: seconds for connecting and for each read.

    Returns:
        ``dest``.

    Raises:
        DatasetIntegrityError: every URL failed and at least one served modified content.
        DatasetError: every URL failed (the message lists each URL and why).
    """
    if not urls:
        raise DatasetError(f"cannot download {dest.name}: no download URLs are configured")
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    integrity = False
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            _log.info("downloading %s", url)
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                shutil.copyfileobj(resp, out, _CHUNK)
            images, labels = parse_csv_bytes(read_csv_file(tmp), name=f"{dest.name} from {url}")
            got = content_fingerprint(images, labels)
            if expected_fingerprint is not None and got != expected_fingerprint:
                integrity = True
                raise DatasetIntegrityError(
                    f"content fingerprint {got} differs from the expected {expected_fingerprint}"
                )
            os.replace(tmp, dest)
            _log.info("downloaded %s -> %s (%d rows)", url, dest, len(labels))
            return dest
        except (urllib.error.URLError, OSError, ValueError, DatasetError) as exc:
            reason = str(exc)
            if isinstance(exc, urllib.error.URLError) and not isinstance(
                exc, urllib.error.HTTPError
            ):
                reason = str(exc.reason)
            failures.append(f"{url}: {reason}")
            _log.warning("download of %s failed: %s", url, reason)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    cls = DatasetIntegrityError if integrity else DatasetError
    raise cls(f"could not download {dest.name}; tried:\n  " + "\n  ".join(failures))
