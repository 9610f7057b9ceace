"""examples/custom_backend_torch.py: a third-party backend through the public API only."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_backend_torch.py"

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("custom_backend_torch", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_uses_only_the_public_api() -> None:
    source = EXAMPLE.read_text()
    private = [line for line in source.splitlines()
               if "asl_recognition." in line and "import" in line
               and any(part.startswith("_") for part in line.split("asl_recognition.")[1].split()[0].split("."))]
    assert not private, private


def test_example_backend_passes_conformance_and_joins_the_main_job(tmp_path: Path) -> None:
    from asl_recognition import available_trainers
    from asl_recognition.job import JobData, run_job
    from asl_recognition.testing import check_trainer, synthetic_dataset

    example = _load_example()
    assert "example-torch" in available_trainers()
    check_trainer(lambda: example.TorchCnnTrainer(epochs=2))  # as the example's own main() runs it

    fit = synthetic_dataset(8, seed=0)
    data = JobData(train=fit, fit=fit, validation=synthetic_dataset(3, seed=1), test=synthetic_dataset(3, seed=2))
    cfg = {"seed": 0, "report": False,
           "trainer": {"torch": {"name": "example-torch", "params": {"epochs": 2}}}}
    result = run_job(cfg, output_dir=tmp_path, data=data)
    assert result.comparison.winner == "torch"
    saved = result.model_dirs["torch"]

    # A fresh process that never imported the example still serves the model (ONNX fallback).
    code = (
        "import sys, numpy as np\n"
        "from asl_recognition import load_model\n"
        "from asl_recognition.testing import synthetic_dataset\n"
        "m = load_model(sys.argv[1])\n"
        "ds = synthetic_dataset(3, seed=2)\n"
        "print(type(m).__name__, float(np.mean(m.predict(ds.images) == ds.labels)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    kind, accuracy = proc.stdout.split()
    assert kind == "OnnxModel"
    in_process = result.results["torch"].model
    expected = float((in_process.predict(data.test.images) == data.test.labels).mean())
    assert float(accuracy) == pytest.approx(expected)
