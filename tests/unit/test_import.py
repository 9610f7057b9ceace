"""``import asl_recognition`` stays light: no TensorFlow, torch or azureml, and under 1 s."""

from __future__ import annotations

import json
import subprocess
import sys

import asl_recognition

HEAVY = ("tensorflow", "keras", "torch", "azureml", "flaml", "optuna", "onnxruntime")

_PROBE = """
import json, sys, time
t = time.perf_counter()
import asl_recognition
elapsed = time.perf_counter() - t
for name in asl_recognition.__all__:
    getattr(asl_recognition, name)
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
print(json.dumps({"import_s": elapsed, "heavy": heavy}))
"""


def test_import_is_light_and_fast() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)], capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], f"public API pulled in heavy modules: {report['heavy']}"
    assert report["import_s"] < 1.0, f"import asl_recognition took {report['import_s']:.2f} s"


def test_public_names() -> None:
    expected = {
        "Dataset", "load_dataset", "get_trainer", "register_trainer", "available_trainers",
        "TrainedModel", "load_model", "Comparator", "AslRecognitionError",
    }
    assert expected <= set(asl_recognition.__all__)
    for name in asl_recognition.__all__:
        assert getattr(asl_recognition, name) is not None
        if name != "__version__":
            assert getattr(asl_recognition, name).__doc__, f"{name} has no docstring"
