"""Fixtures for the serving tests: a small real model the server subprocess can load.

The model is a scikit-learn logistic regression trained on synthetic "letters" (one bright
block per class at its own place on a 5x5 grid) and exported to ONNX, so the inference server
loads it through the library's built-in ``onnx`` model type (no test code in the server).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from asl_recognition.data.letters import VALID_LABELS


def synthetic_letter(label: int, *, noise: float = 0.0, seed: int = 0) -> npt.NDArray[np.uint8]:
    """A 28x28 image for ``label``: a bright 5x5 block at the label's cell of a 5x5 grid."""
    i = VALID_LABELS.index(label)
    img = np.full((28, 28), 40.0)
    r, c = 1 + 5 * (i // 5), 1 + 5 * (i % 5)
    img[r : r + 5, c : c + 5] = 220.0
    if noise:
        img += np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def png_bytes(image: npt.NDArray[np.uint8], *, scale: int = 1, mode: str = "L") -> bytes:
    """``image`` enlarged ``scale`` times (nearest) and encoded as PNG in Pillow ``mode``."""
    from PIL import Image

    im = Image.fromarray(image).resize((28 * scale, 28 * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def build_onnx_model(directory: Path) -> Path:
    """Train the synthetic logistic regression, export it to ONNX, save it as a model dir."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from asl_recognition.models import ModelMetadata
    from asl_recognition.models.onnx import OnnxModel

    x = np.stack([synthetic_letter(lab, noise=12, seed=s) for lab in VALID_LABELS for s in range(6)]).reshape(-1, 784)
    y = np.repeat(VALID_LABELS, 6)
    clf = LogisticRegression(max_iter=300).fit(x.astype(np.float32) / 255.0, y)
    onx = to_onnx(clf, x[:1].astype(np.float32), options={id(clf): {"zipmap": False}})
    meta = ModelMetadata.create(
        model_type="onnx",
        backend="sklearn",
        labels=tuple(int(c) for c in clf.classes_),
        extra={"onnx": {"input_layout": "flat", "input_scale": 1 / 255}},
    )
    return OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString()).save(directory)


@pytest.fixture(scope="session")
def letter() -> Callable[..., npt.NDArray[np.uint8]]:
    """:func:`synthetic_letter` (conftest modules are not importable under importlib mode)."""
    return synthetic_letter


@pytest.fixture(scope="session")
def png() -> Callable[..., bytes]:
    """:func:`png_bytes`."""
    return png_bytes


@pytest.fixture(scope="session")
def onnx_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved ``onnx`` model directory predicting the synthetic letters."""
    return build_onnx_model(tmp_path_factory.mktemp("models") / "synthetic-onnx")


@pytest.fixture
def keep_artifact() -> Callable[[Path], Path | None]:
    """A function copying a file into ``$ASL_ARTIFACTS_DIR`` (when set); returns the copy."""

    def keep(src: Path) -> Path | None:
        target = os.environ.get("ASL_ARTIFACTS_DIR")
        if not target:
            return None
        Path(target).mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(src, Path(target) / src.name))

    return keep


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a free TCP port on 127.0.0.1."""
    return _free_port


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop ``proc`` and its children (its own process group): SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``start(command_for_port, health_path, name=...)``: run a server command (a function of a
    free port) in its own process group on 127.0.0.1, wait until ``GET health_path`` answers 200
    and return its base URL; every server is stopped (SIGTERM, then SIGKILL after 5 s) at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(command: Callable[[int], list[str]], health: str, *, name: str, timeout: float = 180) -> str:
        port = _free_port()
        log = tmp_path / f"{name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(command(port), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                    cwd=tmp_path)  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url + health, timeout=2) as resp:
                    if resp.status == 200:
                        return url
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"{name}: no answer from {url + health} within {timeout} s:\n"
                    f"{log.read_text(errors='replace')[-3000:]}")  # fmt: skip

    yield start
    for proc in procs:  # nothing is checked at exit: a server still stopping after 5 s is killed
        stop_group(proc, timeout=5)


def _compose(overrides: list[str]) -> dict[str, Any]:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from asl_recognition.cli import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}


@pytest.fixture(scope="session")
def compose_config() -> Callable[[list[str]], dict[str, Any]]:
    """A function composing ``conf/config.yaml`` with Hydra overrides into a plain dict (the
    mapping the CLI hands :func:`~asl_recognition.job.run_job`)."""
    return _compose
