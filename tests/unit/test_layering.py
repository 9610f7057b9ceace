"""The import-linter contracts in pyproject.toml catch what they are meant to catch.

``.ci/test`` runs ``lint-imports`` on the real tree; these tests run the same contracts on a copy
of the package with one bad import added, proving that each kind of violation fails the check
(and, as a control, that the unchanged copy passes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[2]
_LINT = "import sys; from importlinter.cli import lint_imports; " \
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))"


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("layering")
    shutil.copytree(ROOT / "asl_recognition", parent / "asl_recognition",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return parent


def _lint(parent: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(parent))
    return subprocess.run([sys.executable, "-c", _LINT, str(ROOT / "pyproject.toml")], env=env, cwd=parent,
                          capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_contracts(package_copy: Path) -> None:
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a model flavour importing a trainer (upward: models sit below trainers)
        ("models/sklearn.py", "import asl_recognition.trainers.base", "layers: cli/job"),
        # a lazy, function-level upward import counts too
        ("data/_csv.py", "def _f():\n    import asl_recognition.photo", "layers: cli/job"),
        # two modules of one layer importing each other
        ("compare/_metrics.py", "import asl_recognition.deploy.score", "layers: cli/job"),
        # one flavour depending on another
        ("models/product.py", "import asl_recognition.models.sklearn", "model flavours build on"),
        # an adapter reaching into a backend
        ("azure/gateway.py", "import asl_recognition.compare", "cloud adapters"),
        # a new top-level module that takes no place in the layers
        ("newthing.py", "import asl_recognition.errors", "layers: cli/job"),
    ],
)
def test_a_violation_fails_the_check(package_copy: Path, tmp_path: Path, module: str, line: str,
                                     broken: str) -> None:
    parent = tmp_path / "pkg"
    shutil.copytree(package_copy, parent)
    path = parent / "asl_recognition" / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n\n{line}  # noqa\n")
    result = _lint(parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout.split("Broken contracts", 1)[1], result.stdout
