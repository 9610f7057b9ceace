"""Build the wheel, install it (non-editable) in fresh virtual environments, and use it.

The first environment gets the wheel itself with ``--no-deps``; its third-party dependencies come
from the test environment through a ``.pth`` path entry, which does not activate this checkout's
editable install, so everything imported as ``asl_recognition`` comes from the wheel. The second
gets the wheel with its core dependencies only (the versions of the lock file), as
``pip install asl-recognition`` would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
#: the environment of the installed package's processes: a PYTHONPATH naming a checkout would
#: import asl_recognition from there instead of from the wheel
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (whl,) = out.glob("asl_recognition-*.whl")
    return whl


def test_wheel_ships_conf_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "asl_recognition/conf/config.yaml" in names
    assert "asl_recognition/conf/trainer/sklearn.yaml" in names
    assert "asl_recognition/py.typed" in names
    assert "asl_recognition/deploy/score.py" in names or not (REPO / "asl_recognition/deploy/score.py").exists()
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_finds_its_conf(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = (
        "import asl_recognition, pathlib; from asl_recognition.cli import conf_dir;"
        "print(asl_recognition.__file__); print(conf_dir())"
    )
    out = subprocess.run([str(py), "-c", probe], cwd=work, env=CLEAN_ENV, check=True, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    module_file, conf = out.stdout.strip().splitlines()
    assert str(env_dir) in module_file, f"imported from {module_file}, not the wheel"
    assert conf == str(Path(module_file).parent / "conf")
    cli = subprocess.run(
        [str(env_dir / "bin" / "asl-recognition"), "--cfg", "job", "trainer=[svm]"],
        cwd=work,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "estimator: svm" in cli.stdout
    mod = subprocess.run(
        [str(py), "-m", "asl_recognition", "--help"], cwd=work, env=CLEAN_ENV, capture_output=True, text=True,
        timeout=120,
    )
    assert mod.returncode == 0 and "trainer" in mod.stdout, mod.stderr


#: optional dependencies the core install must not bring (each belongs to an extra)
_EXTRAS_ONLY = ("matplotlib", "hydra", "omegaconf", "skimage", "selenium", "tensorflow", "torch", "azureml")

_CORE_PROBE = """
import importlib.util, json, sys, time
import numpy as np
start = time.perf_counter()
from asl_recognition import load_model
optional, images = json.loads(sys.argv[1]), np.load(sys.argv[2])
predictions = {}
for model_dir in sys.argv[3:]:
    predictions[model_dir] = load_model(model_dir).predict(images).tolist()
seconds = time.perf_counter() - start
from asl_recognition.errors import MissingDependencyError
from asl_recognition.models.sklearn import HogFeatures
try:
    HogFeatures().transform(images[:1].reshape(1, -1))
    hog_error = ""
except MissingDependencyError as exc:
    hog_error = str(exc)
print(json.dumps({
    "predictions": predictions,
    "seconds": seconds,
    "installed": [m for m in optional if importlib.util.find_spec(m) is not None],
    "hog_error": hog_error,
}))
"""


def _lock_pins(lock: Path) -> str:
    """The ``name==version`` lines of the lock file, without hashes (pip constraints)."""
    pins = [line.split()[0] for line in lock.read_text().splitlines() if "==" in line and not line[:1].isspace()]
    return "\n".join(p for p in pins if not p.startswith("#")) + "\n"


@pytest.mark.slow
def test_core_install_loads_and_predicts_without_extras(
    wheel: Path, onnx_model_dir: Path, tmp_path: Path
) -> None:
    """``pip install asl-recognition`` (no extras) in a plain venv: saved models load and predict."""
    from asl_recognition import load_model
    from asl_recognition.testing import synthetic_dataset, synthetic_images
    from asl_recognition.trainers._sklearn import SklearnTrainer

    sklearn_dir = SklearnTrainer(estimator="logistic").fit(synthetic_dataset(6)).model.save(tmp_path / "logistic")
    images = synthetic_images(list(range(10)), seed=3)
    np.save(tmp_path / "images.npy", images)
    expected = {str(d): load_model(d).predict(images).tolist() for d in (sklearn_dir, onnx_model_dir)}

    env_dir = tmp_path / "core-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)  # a plain venv: no system site-packages
    py = str(env_dir / "bin" / "python")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(_lock_pins(REPO / ".ci" / "requirements.lock"))
    offline = os.environ.get("ASL_WHEELHOUSE")  # a folder of wheels, for a machine without network
    source = ["--no-index", "--find-links", offline] if offline else []
    # --no-compile: no .pyc files written ahead (Python compiles on import): the same packages,
    # without byte-compiling every module of numpy, scipy, pandas and scikit-learn first
    install = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-compile", *source, "--constraint", str(constraints), str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = subprocess.run(
        [py, "-c", _CORE_PROBE, json.dumps(_EXTRAS_ONLY), str(tmp_path / "images.npy"), *expected],
        cwd=work, env=CLEAN_ENV, capture_output=True, text=True, timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = json.loads(probe.stdout)
    assert result["installed"] == [], f"the core install brought optional dependencies: {result['installed']}"
    assert result["predictions"] == expected
    assert "asl-recognition[images]" in result["hog_error"]
    script = str(env_dir / "bin" / "asl-recognition")
    cli = subprocess.run([script, "--cfg", "job"], cwd=work, env=CLEAN_ENV, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "asl-recognition[cli]" in cli.stderr, cli.stderr
    check = subprocess.run([py, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
