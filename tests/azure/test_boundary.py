"""Importing the library never imports either Azure SDK; a missing SDK names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asl_recognition.errors import MissingDependencyError


@pytest.mark.parametrize("sdk", ["azureml", "azure.ai"])
def test_import_and_local_backends_do_not_import_the_sdks(sdk: str) -> None:
    code = (
        "import sys, asl_recognition, asl_recognition.azure, asl_recognition.azure_v2\n"
        "from asl_recognition.trainers.base import get_trainer\n"
        "from asl_recognition.deploy.base import available_deployers\n"
        "get_trainer('automl', compute='local'); get_trainer('hyperdrive', compute='local')\n"
        "available_deployers()\n"
        f"assert not [m for m in sys.modules if m.startswith({sdk!r})], '{sdk} imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize(("module", "guard", "sdk"), [
    ("asl_recognition.azure._sdk", "require_azureml", "SDK v1"),
    ("asl_recognition.azure_v2._sdk", "require_azure_ai_ml", "SDK v2"),
])  # fmt: skip
def test_missing_sdk_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch, module: str, guard: str,
                                               sdk: str) -> None:  # fmt: skip
    import importlib
    import importlib.util

    check = getattr(importlib.import_module(module), guard)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=sdk + r' .*pip install "asl-recognition\[azure\]"'):
        check()
