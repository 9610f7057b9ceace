"""Photo -> :class:`~asl_recognition.photo.pipeline.HandObservation`, once per photo, cached on disk.

Hand detection is the costly part of reading a photo (two neural networks, several attempts for
hard photos). :func:`observe_photos` computes each photo's observation once and shares it:

- **Content-keyed disk cache**: an encoded photo (a file or its bytes) is keyed by a hash of
  its bytes and of everything that shapes the observation (:data:`OBSERVATION_VERSION`, the hand
  models' SHA-256, the detection attempts), so training, comparison and benchmarks on the same
  folder detect once, and a second run detects nothing. Entries are ``.npz`` files written
  atomically under ``<cache dir>/observations/``; a damaged entry is recomputed.
- **Worker processes**: large batches of photo files are spread over ``workers`` child
  processes (``python -m asl_recognition.photo.observe``), each with its own LiteRT
  interpreters, which fill the cache that this process then reads.

>>> import numpy as np
>>> obs = observe_photos([np.full((64, 64, 3), (90, 120, 200), np.uint8)], cache=False)
>>> obs[0].image.shape, obs[0].hand is None
((28, 28), True)
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_write_bytes
from asl_recognition._paths import default_cache_dir
from asl_recognition.data.arrays import IMAGE_SHAPE
from asl_recognition.photo.box import HandBox
from asl_recognition.photo.colour import NEUTRAL
from asl_recognition.photo.decode import DEFAULT_MAX_IMAGE_PIXELS, colour_photo, decode_image, grey_crop
from asl_recognition.photo.handpose import ATTEMPTS, CropReadings, HandPose, read_crops
from asl_recognition.photo.pipeline import HandObservation, preprocess_photo

__all__ = [
    "OBSERVATION_VERSION", "PhotoSource", "observation_cache_dir", "observe_photo", "observe_photos",
    "read_crops_cached",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: Bump when the observation of a photo changes for the same models (cache entries expire).
OBSERVATION_VERSION = 1
#: Batches smaller than this are observed in this process (starting workers costs seconds).
MIN_PARALLEL = 32
#: A photo: a path, its encoded bytes, or an ``(H, W, 3)`` / ``(H, W)`` pixel array.
PhotoSource = str | os.PathLike[str] | bytes | npt.ArrayLike


def observation_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where observations are cached: ``<cache dir>/observations`` (``$ASL_CACHE_DIR`` or the
    user cache dir when ``cache_dir`` is None)."""
    return default_cache_dir(cache_dir) / "observations"


def observe_photo(source: PhotoSource, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                  what: str = "photo") -> HandObservation:  # fmt: skip
    """Decode one image and observe its hand: a colour photo goes through
    :func:`~asl_recognition.photo.preprocess_photo`; a 28x28 or greyscale image becomes its
    centred, area-resized 28x28 square, with no hand (steps of
    :func:`~asl_recognition.images.preprocess_image`).

    Raises:
        InvalidParameterError: the input cannot be read or decoded, or has an unusable shape.
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
    """
    from asl_recognition.errors import InvalidParameterError

    im, what = decode_image(source, max_pixels=max_pixels, what=what)
    try:
        rgb = colour_photo(im)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidParameterError(f"{what} could not be decoded: {exc}") from exc
    if rgb is not None:
        obs = preprocess_photo(rgb)
        logger.debug("observed %s as a photo (hand box %s)", what, obs.hand)
        return obs
    return HandObservation(image=grey_crop(im), hand=None, photo_size=(im.size[1], im.size[0]))


@functools.cache
def _fingerprint() -> str:
    """What, besides the photo, determines its observation."""
    from asl_recognition.photo.hand_models import MODEL_FILES, hand_model_dir

    models = "none" if hand_model_dir() is None else ",".join(sha for _, sha in sorted(MODEL_FILES.values()))
    return f"v{OBSERVATION_VERSION}|{','.join(ATTEMPTS)}|{models}"


def _key(source: PhotoSource) -> str | None:
    """The cache key of an encoded photo (None for pixel arrays: decoding them is free)."""
    if isinstance(source, (str, os.PathLike)):
        try:
            data = Path(source).read_bytes()
        except OSError:
            return None  # observe_photo reports the unreadable file
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        return None
    h = hashlib.blake2b(data, digest_size=20)
    h.update(_fingerprint().encode())
    return h.hexdigest()


def _to_npz(obs: HandObservation) -> bytes:
    fields: dict[str, Any] = {"image": obs.image, "mirrored": obs.mirrored, "photo_size": np.array(obs.photo_size)}
    box = obs.hand
    if box is not None:
        fields["box"] = np.array([box.left, box.top, box.right, box.bottom, box.palm[0], box.palm[1]], np.int64)
        fields["palm_radius"], fields["gains"] = box.palm_radius, np.array(box.gains)
        pose = box.pose
        if pose is not None:
            fields["landmarks"], fields["points3d"] = pose.landmarks, pose.points3d
            fields["scores"] = np.array([pose.presence, pose.palm_score, pose.side_score])
            fields["attempt"] = pose.attempt
            if pose.world is not None:
                fields["world"] = pose.world
    buf = io.BytesIO()
    np.savez(buf, **fields)
    return buf.getvalue()


def _from_npz(data: Any) -> HandObservation:
    hand: HandBox | None = None
    if "box" in data:
        pose: HandPose | None = None
        if "landmarks" in data:
            presence, palm_score, side_score = (float(v) for v in data["scores"])
            pose = HandPose(landmarks=data["landmarks"], presence=presence, palm_score=palm_score,
                            side_score=side_score, depth=data["points3d"][:, 2],
                            world=data.get("world"),
                            attempt=str(data["attempt"]))  # fmt: skip
        left, top, right, bottom, pr, pc = (int(v) for v in data["box"])
        gains = tuple(float(g) for g in data["gains"])
        hand = HandBox(left=left, top=top, right=right, bottom=bottom, palm=(pr, pc),
                       palm_radius=float(data["palm_radius"]),
                       gains=(gains[0], gains[1], gains[2]) if len(gains) == 3 else NEUTRAL, pose=pose)  # fmt: skip
    h, w = (int(v) for v in data["photo_size"])
    return HandObservation(image=np.asarray(data["image"], np.uint8), hand=hand, mirrored=bool(data["mirrored"]),
                           photo_size=(h, w))  # fmt: skip


def _cached(path: Path) -> HandObservation | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return _from_npz(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError) as exc:
        logger.warning("ignoring a damaged observation cache entry %s: %s", path, exc)
        return None


def _store(root: Path, key: str, obs: HandObservation) -> Path | None:
    """Write a cache entry; the cache root, or None once it proved unwritable."""
    try:
        atomic_write_bytes(root / key[:2] / f"{key}.npz", _to_npz(obs))
    except OSError as exc:  # a read-only cache must not stop the work
        logger.warning("cannot write the observation cache under %s: %s", root, exc)
        return None
    return root


def _observe_in_workers(files: Sequence[Path], *, root: Path, workers: int, max_pixels: int) -> None:
    """Observe ``files`` in ``workers`` child processes (``python -m`` this module), each
    writing its cache entries under ``root``. A worker that fails is logged, not raised."""
    import subprocess
    import sys
    import tempfile

    chunks = [files[k::workers] for k in range(workers)]
    procs = []
    for chunk in chunks:
        if not chunk:
            continue
        cmd = [sys.executable, "-m", __name__, "--cache-root", str(root), "--max-pixels", str(max_pixels)]
        listing = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")  # noqa: SIM115
        with listing:
            listing.write("\n".join(str(f) for f in chunk))
        with open(listing.name, "rb") as stdin:
            proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append((proc, listing.name))
    for proc, listing_name in procs:
        _, err = proc.communicate()
        os.unlink(listing_name)
        if proc.returncode:
            logger.warning("an observation worker failed (exit %s): %s", proc.returncode,
                           err.decode("utf-8", "replace")[-500:])  # fmt: skip


def observe_photos(
    sources: Sequence[PhotoSource],
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    progress: Callable[[int, int], None] | None = None,
) -> list[HandObservation]:
    """The hand observation of each photo (see module doc), in order.

    Args:
        sources: photos (paths, encoded bytes, or pixel arrays).
        cache: read and write the on-disk cache (encoded photos only).
        cache_dir: the cache's root (default: ``$ASL_CACHE_DIR`` or the user cache dir).
        workers: processes for photo files not in the cache (default: the CPUs this process may
            use, at most 4; 1 = this process). Small batches, and photos given as bytes or
            arrays, are observed in this process.
        max_pixels: largest photo (width x height) decoded.
        progress: called as ``progress(done, total)`` while photos are observed.

    Raises:
        InvalidParameterError: a photo cannot be read or decoded (the message names it).
    """
    n = len(sources)
    out: list[HandObservation | None] = [None] * n
    root = observation_cache_dir(cache_dir) if cache else None
    keys: list[str | None] = [None] * n
    todo: list[int] = []
    for i, src in enumerate(sources):
        key = _key(src) if root is not None else None
        keys[i] = key
        hit = _cached(root / key[:2] / f"{key}.npz") if root is not None and key is not None else None
        if hit is None:
            todo.append(i)
        else:
            out[i] = hit
    if todo:
        hits = n - len(todo)
        n_workers = min(4, len(os.sched_getaffinity(0))) if workers is None else max(1, int(workers))
        files = [i for i in todo if isinstance(sources[i], (str, os.PathLike)) and keys[i] is not None]
        if root is not None and n_workers > 1 and len(files) >= MIN_PARALLEL:
            # worker processes fill the cache; this process then reads it (and observes here
            # whatever a worker could not, which raises the clear error for a bad photo)
            _observe_in_workers([Path(str(sources[i])) for i in files], root=root, workers=n_workers,
                                max_pixels=max_pixels)  # fmt: skip
            for i in files:
                key = keys[i]
                assert key is not None
                out[i] = _cached(root / key[:2] / f"{key}.npz")
            todo = [i for i in todo if out[i] is None]
        for done, i in enumerate(todo, start=1):
            src = sources[i]
            what = str(src) if isinstance(src, (str, os.PathLike)) else f"photos[{i}]"
            obs = observe_photo(src, max_pixels=max_pixels, what=what)
            out[i] = obs
            key = keys[i]
            if root is not None and key is not None:
                root = _store(root, key, obs)
            if progress is not None:
                progress(done, len(todo))
        # a batch is worth a line; a service's one photo per request is not
        logger.log(logging.INFO if n >= MIN_PARALLEL else logging.DEBUG, "observed %d photo(s), %d from the cache",
                   n, hits)  # fmt: skip
    return [o for o in out if o is not None]


def read_crops_cached(images: npt.NDArray[np.uint8], *, cache: bool = True,
                      cache_dir: str | os.PathLike[str] | None = None) -> CropReadings:  # fmt: skip
    """:func:`~asl_recognition.photo.handpose.read_crops` of a batch of 28x28 crops, kept on
    disk keyed by the batch's content (training reads the same Sign MNIST images every run).

    Raises:
        ConfigurationError: the hand models are not installed.
    """
    batch = np.ascontiguousarray(np.asarray(images, dtype=np.uint8).reshape(-1, *IMAGE_SHAPE))
    path: Path | None = None
    if cache:
        h = hashlib.blake2b(batch.tobytes(), digest_size=20)
        h.update(f"{batch.shape}|{_fingerprint()}".encode())
        path = observation_cache_dir(cache_dir) / "crops" / f"{h.hexdigest()}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                return CropReadings(points=data["points"], world=data["world"], presence=data["presence"],
                                    side=data["side"])  # fmt: skip
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, EOFError) as exc:
            logger.warning("ignoring a damaged crop cache entry %s: %s", path, exc)
    readings = read_crops(batch)
    if path is not None:
        buf = io.BytesIO()
        np.savez(buf, points=readings.points, world=readings.world, presence=readings.presence, side=readings.side)
        try:
            atomic_write_bytes(path, buf.getvalue())
        except OSError as exc:
            logger.warning("cannot write the crop cache %s: %s", path, exc)
    return readings


def _worker_main(argv: Sequence[str] | None = None) -> int:
    """Child process of :func:`observe_photos`: observe the files named on stdin into the cache."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m asl_recognition.photo.observe")
    parser.add_argument("--cache-root", required=True, type=Path)
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_IMAGE_PIXELS)
    args = parser.parse_args(argv)
    failed = 0
    for line in sys.stdin.read().splitlines():
        if not line:
            continue
        key = _key(line)
        if key is None:
            failed += 1
            continue
        try:
            obs = observe_photo(line, max_pixels=args.max_pixels, what=line)
        except Exception as exc:  # the parent observes it again and reports the error
            logger.debug("worker: %s: %s", line, exc)
            failed += 1
            continue
        if _store(args.cache_root, key, obs) is None:
            return 1
    if failed:
        logger.info("worker: %d photo(s) left to the parent process", failed)
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker_main())
