"""Shared fixtures: where the real data is, and whether its absence is a failure or a skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One BLAS/OpenMP thread per pytest-xdist worker (inherited by the subprocesses tests start):
    # the workers already fill the cores, and OpenBLAS threads competing for a busy core spin
    # instead of working. Set before numpy loads OpenBLAS; threadpoolctl covers a library that an
    # earlier plugin already loaded.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

import pytest

REPO = Path(__file__).resolve().parent.parent
_SHARED = REPO.parent / "shared" / "data"


def _require_data() -> bool:
    """Under CI (or ASL_REQUIRE_DATA=1) missing real data fails the test instead of skipping it."""
    return os.environ.get("ASL_REQUIRE_DATA") == "1" or os.environ.get("CI", "").lower() == "true"


def _resolve(env: str, fallback: Path, marker: str) -> Path:
    value = os.environ.get(env)
    path = Path(value) if value else fallback
    if (path / marker).exists():
        return path
    message = f"real data not found: set {env} (looked in {path})"
    if _require_data():
        pytest.fail(message)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files that hold ``slow`` tests first, each file's tests still together and in order.

    Under pytest-xdist (``.ci/test``: ``--dist loadfile``) the long files then start early and the
    many short ones fill both workers at the end, instead of one worker finishing a long file
    alone.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Directory holding sign_mnist_train.csv and sign_mnist_test.csv."""
    return _resolve("ASL_DATA_DIR", _SHARED / "sign-language-mnist", "sign_mnist_test.csv")


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """Directory of real hand photos, one folder per letter."""
    return _resolve("ASL_PHOTOS_DIR", _SHARED / "asl-photos-dev", "A")


@pytest.fixture(scope="session")
def photos_train_dir() -> Path:
    """Directory of real training photos (other people than the dev photos), with SOURCES.tsv."""
    return _resolve("ASL_PHOTOS_TRAIN", _SHARED / "asl-photos-train", "SOURCES.tsv")


@pytest.fixture(scope="session")
def real_train(data_dir: Path):  # type: ignore[no-untyped-def]
    """The official training file, loaded once per session."""
    from asl_recognition.data import load_dataset

    return load_dataset("train", data_dir=data_dir)


@pytest.fixture(scope="session")
def real_test(data_dir: Path):  # type: ignore[no-untyped-def]
    """The official test file, loaded once per session."""
    from asl_recognition.data import load_dataset

    return load_dataset("test", data_dir=data_dir)


@pytest.fixture(scope="session")
def real_split(real_train):  # type: ignore[no-untyped-def]
    """The default leak-free (fit, validation) split of the training file."""
    return real_train.split_validation()


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's ``$ASL_CACHE_DIR`` (unless one is set): every cache of the tests and of
    their session- and module-scoped fixtures stays out of the user's home directory, and a
    session starts with an empty cache, as on a fresh machine.

    The pytest-xdist workers share it (their base temporary folders' parent): its entries are
    keyed by content and written atomically, so what one worker computed (a parsed CSV, a
    photo's hand) the other reads.
    """
    preset = os.environ.get("ASL_CACHE_DIR")
    if preset:
        yield Path(preset)
        return
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "asl-cache"
    path.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASL_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def dev_photo_cache(photos_dir: Path, session_cache_dir: Path) -> Path:
    """Every dev photo's hand observation in the session cache, computed once per session.

    What reads the dev folder through the cache (the Comparator's photos, the main job's
    ``compare.photos_dir``, ``observe_photos``) then finds them there. The first pytest-xdist
    worker that needs them observes them while the other waits on a lock file; returns the dev
    folder.
    """
    import fcntl

    from asl_recognition.data.photos import load_photo_dataset
    from asl_recognition.photo.observe import observe_photos

    files = list(load_photo_dataset(photos_dir).files)
    with (session_cache_dir / "dev-photos.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            observe_photos(files)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return photos_dir
