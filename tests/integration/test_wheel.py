"""Build the wheel, install it (non-editable) in a fresh virtual environment, and use it.

The new environment gets the wheel itself with ``--no-deps``; its third-party dependencies come
from the test environment through a ``.pth`` path entry, which does not activate this checkout's
editable install, so everything imported as ``asl_recognition`` comes from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
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
    out = subprocess.run([str(py), "-c", probe], cwd=work, check=True, capture_output=True, text=True, timeout=120)
    module_file, conf = out.stdout.strip().splitlines()
    assert str(env_dir) in module_file, f"imported from {module_file}, not the wheel"
    assert conf == str(Path(module_file).parent / "conf")
    cli = subprocess.run(
        [str(env_dir / "bin" / "asl-recognition"), "--cfg", "job", "trainer=[svm]"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "estimator: svm" in cli.stdout
    mod = subprocess.run(
        [str(py), "-m", "asl_recognition", "--help"], cwd=work, capture_output=True, text=True, timeout=120
    )
    assert mod.returncode == 0 and "trainer" in mod.stdout, mod.stderr
