"""Importing the library never imports azureml; a missing SDK names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asl_recognition.errors import MissingDependencyError


def test_import_and_local_backends_do_not_import_azureml() -> None:
    code = (
        "import sys, asl_recognition, asl_recognition.azure\n"
        "from asl_recognition.trainers.base import get_trainer\n"
        "from asl_recognition.deploy.base import available_deployers\n"
        "get_trainer('automl', compute='local'); get_trainer('hyperdrive', compute='local')\n"
        "available_deployers()\n"
        "assert not [m for m in sys.modules if m.startswith('azureml')], 'azureml imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_missing_sdk_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from asl_recognition.azure import _sdk

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r'pip install "asl-recognition\[azure\]"'):
        _sdk.require_azureml()
