"""The learned hand models: where they come from, where they live, how they are checked.

The hand detector (:mod:`asl_recognition.photo.handpose`) runs two small networks from
Google's MediaPipe Hands (Apache License 2.0): the palm detector (BlazePalm,
``palm_detection_full.tflite``) and the hand landmark model (``hand_landmark_full.tflite``).
Nothing can be fetched from a model hub here, but both files ship *inside* the ``mediapipe``
wheels of the 0.10 series on PyPI (later releases dropped them). The library does not depend
on ``mediapipe`` itself (its 0.10 wheels pin ``protobuf<5`` and NumPy 1, which TensorFlow 2.18+
cannot share): :func:`install_hand_models` downloads that one wheel with pip, without its
dependencies, extracts the two files, checks their SHA-256 and writes them atomically::

    asl-recognition install-hand-models            # or: python -m asl_recognition install-hand-models

Where the files are looked for (:func:`hand_model_dir`), first match wins:

1. ``$ASL_HAND_MODELS`` (a directory; ``off`` disables the detector);
2. ``hand_models/`` in the library's cache directory
   (:func:`asl_recognition._paths.default_cache_dir`: ``$ASL_CACHE_DIR``, else
   ``$XDG_CACHE_HOME/asl_recognition``, else ``~/.cache/asl_recognition``), where
   :func:`install_hand_models` puts them (:func:`default_model_dir`);
3. ``hand_models/`` in the per-user cache (:func:`asl_recognition._paths.user_cache_dir`)
   when ``$ASL_CACHE_DIR`` points elsewhere: earlier versions installed them there whatever
   ``$ASL_CACHE_DIR`` said, and those installs keep working;
4. an installed ``mediapipe`` package of the 0.10 series (its ``modules/`` folder).

Without them the photo path falls back to the skin-colour localiser
(:mod:`asl_recognition.photo.localize`), and says so once in the log.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from asl_recognition._io import atomic_write_bytes, atomic_write_text
from asl_recognition._paths import default_cache_dir, user_cache_dir
from asl_recognition.errors import ConfigurationError

__all__ = [
    "BUNDLED_DIR",
    "ENV_VAR",
    "LANDMARK_MODEL",
    "MODEL_FILES",
    "PALM_MODEL",
    "SOURCE_PACKAGE",
    "bundle_hand_models",
    "default_model_dir",
    "hand_model_dir",
    "install_hand_models",
    "use_bundled_hand_models",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the directory with the model files (``off``: no detector).
ENV_VAR = "ASL_HAND_MODELS"
#: The PyPI release whose wheel ships the models (the download is pinned to its cp311 manylinux wheel).
SOURCE_PACKAGE = "mediapipe==0.10.14"
PALM_MODEL = "palm_detection_full.tflite"
LANDMARK_MODEL = "hand_landmark_full.tflite"
#: File name -> (path inside the ``mediapipe`` package, SHA-256).
MODEL_FILES: dict[str, tuple[str, str]] = {
    PALM_MODEL: (
        "modules/palm_detection/palm_detection_full.tflite",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    ),
    LANDMARK_MODEL: (
        "modules/hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    ),
}
#: Folder, inside a model directory shipped to a service, that carries the hand models along
#: (:func:`bundle_hand_models`, :func:`use_bundled_hand_models`).
BUNDLED_DIR = "hand_models"
#: Folder of the cache directory that holds the installed models.
_CACHE_FOLDER = "hand_models"
_NOTICE = (
    "palm_detection_full.tflite and hand_landmark_full.tflite: MediaPipe Hands models by Google,\n"
    "Apache License 2.0, extracted unchanged from the {source} wheel on PyPI.\n"
)


def default_model_dir() -> Path:
    """Where :func:`install_hand_models` puts the files: ``hand_models/`` in the cache directory.

    >>> default_model_dir().name
    'hand_models'
    """
    return default_cache_dir() / _CACHE_FOLDER


def _cached() -> tuple[dict[str, Path], Path] | None:
    """The model files in the cache directory, else in the per-user cache (older installs)."""
    for folder in dict.fromkeys((default_model_dir(), user_cache_dir() / _CACHE_FOLDER)):
        paths = _complete(folder)
        if paths is not None:
            return paths, folder
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _complete(folder: Path, layout: str = "flat") -> dict[str, Path] | None:
    """The model paths in ``folder`` (``flat``: file names; ``package``: mediapipe's layout)."""
    paths = {name: folder / (inner if layout == "package" else name) for name, (inner, _) in MODEL_FILES.items()}
    return paths if all(p.is_file() for p in paths.values()) else None


@functools.cache
def _verified(path: Path, size: int, mtime_ns: int) -> bool:  # size/mtime: re-check a changed file
    return _sha256(path) == MODEL_FILES[path.name][1]


def _check(paths: dict[str, Path], where: str) -> dict[str, Path]:
    for name, path in paths.items():
        stat = path.stat()
        if not _verified(path, stat.st_size, stat.st_mtime_ns):
            raise ConfigurationError(
                f"{path} ({where}) is not the expected {name} (SHA-256 differs); "
                "run 'asl-recognition install-hand-models' to replace it"
            )
    return paths


def _mediapipe_modules() -> Path | None:
    try:
        spec = importlib.util.find_spec("mediapipe")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def hand_model_dir() -> dict[str, Path] | None:
    """The verified model files (name -> path), or None when none are installed or ``off``.

    Raises:
        ConfigurationError: ``$ASL_HAND_MODELS`` names a folder without both files, or a
            file found is not the expected model (its SHA-256 differs).
    """
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        paths = _complete(Path(configured))
        if paths is None:
            raise ConfigurationError(
                f"${ENV_VAR}={configured} must be a folder holding {' and '.join(MODEL_FILES)} "
                "(or 'off'); run 'asl-recognition install-hand-models --dest FOLDER'"
            )
        return _check(paths, f"${ENV_VAR}")
    cached = _cached()
    if cached is not None:
        return _check(cached[0], f"the cache {cached[1]}")
    package = _mediapipe_modules()
    if package is not None and (found := _complete(package, "package")) is not None:
        return _check(found, "the installed mediapipe package")
    return None


def _download_wheel(folder: Path) -> Path:
    """``pip download`` the source wheel (no dependencies) into ``folder``."""
    command = [
        sys.executable, "-m", "pip", "download", SOURCE_PACKAGE, "--no-deps", "--only-binary=:all:",
        "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
        "--platform", "manylinux_2_17_x86_64", "--dest", str(folder), "--quiet",
    ]  # fmt: skip
    logger.info("downloading %s (%s)", SOURCE_PACKAGE, " ".join(command[1:]))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        raise ConfigurationError(
            f"could not download {SOURCE_PACKAGE} with pip (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )
    return wheels[0]


def install_hand_models(
    dest: str | os.PathLike[str] | None = None, *, wheel: str | os.PathLike[str] | None = None
) -> Path:
    """Extract the two hand models from a ``mediapipe`` 0.10 wheel into ``dest`` and verify them.

    Args:
        dest: target folder (default :func:`default_model_dir`); existing verified files are kept.
        wheel: a wheel file already at hand; None downloads ``mediapipe==0.10.14`` with pip.

    Returns:
        The folder holding the verified files.

    Raises:
        ConfigurationError: the download failed, or the wheel lacks the files or holds
            different ones (nothing is written then).
    """
    target = Path(dest) if dest is not None else default_model_dir()
    have = _complete(target)
    # a file that fails the check (damaged, or another model) is replaced, not reported
    if have is not None and all(_sha256(p) == MODEL_FILES[n][1] for n, p in have.items()):
        logger.info("hand models already installed in %s", target)
        return target
    with tempfile.TemporaryDirectory(prefix="asl-hand-models-") as tmp:
        source = Path(wheel) if wheel is not None else _download_wheel(Path(tmp))
        blobs: dict[str, bytes] = {}
        try:
            with zipfile.ZipFile(source) as archive:
                for name, (inner, digest) in MODEL_FILES.items():
                    data = archive.read(f"mediapipe/{inner}")
                    if hashlib.sha256(data).hexdigest() != digest:
                        raise ConfigurationError(f"{source}: mediapipe/{inner} is not the expected {name}")
                    blobs[name] = data
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise ConfigurationError(f"{source} is not a mediapipe 0.10 wheel with the hand models: {exc}") from None
    _write(target, blobs)
    logger.info("hand models installed in %s", target)
    return target


def _write(target: Path, blobs: dict[str, bytes]) -> None:
    """Write the verified model files and their notice into ``target`` (atomically, each)."""
    for name, data in blobs.items():
        atomic_write_bytes(target / name, data)
    atomic_write_text(target / "NOTICE.txt", _NOTICE.format(source=SOURCE_PACKAGE))


def bundle_hand_models(model_dir: str | os.PathLike[str]) -> bool:
    """Copy the installed hand models into ``model_dir``/:data:`BUNDLED_DIR` (for a service
    image that cannot download them); False, and nothing copied, when none are installed."""
    paths = hand_model_dir()
    if paths is None:
        logger.warning("no hand models installed: the service will use the skin-colour hand localiser")
        return False
    _write(Path(model_dir) / BUNDLED_DIR, {name: path.read_bytes() for name, path in paths.items()})
    return True


def use_bundled_hand_models(model_dir: str | os.PathLike[str], environ: dict[str, str] | None = None) -> bool:
    """Point ``$ASL_HAND_MODELS`` at ``model_dir``/:data:`BUNDLED_DIR` when it exists and the
    variable is unset (a service started from a model directory with its hand models)."""
    env = os.environ if environ is None else environ
    bundled = Path(model_dir) / BUNDLED_DIR
    if ENV_VAR in env or _complete(bundled) is None:
        return False
    env[ENV_VAR] = str(bundled)
    return True
