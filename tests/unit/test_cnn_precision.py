"""Training precision: the policy choice, and a bfloat16-trained network saved in float32."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition.errors import InvalidParameterError
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.cnn import precision
from asl_recognition.trainers.cnn.config import TrainConfig

FLAGS = "flags\t\t: fpu vme sse2 avx2 avx512f {extra}\n"


@pytest.mark.parametrize(("extra", "expected"), [("amx_bf16 amx_tile", True), ("avx512_bf16", False), ("", False)])
def test_amx_is_read_from_the_cpu_flags(tmp_path: Path, extra: str, expected: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\n" + FLAGS.format(extra=extra))
    assert precision.cpu_has_amx_bf16.__wrapped__(cpuinfo) is expected


def test_unreadable_cpuinfo_means_no_amx(tmp_path: Path) -> None:
    assert precision.cpu_has_amx_bf16.__wrapped__(tmp_path / "missing") is False


@pytest.mark.parametrize(("amx", "backend", "expected"), [
    (True, "tensorflow", "mixed_bfloat16"),
    (False, "tensorflow", "float32"),
    (True, "torch", "float32"),  # bfloat16 only where it was measured to pay off
])
def test_auto_picks_bfloat16_only_on_amx_with_tensorflow(
    monkeypatch: pytest.MonkeyPatch, amx: bool, backend: str, expected: str
) -> None:
    monkeypatch.setattr(precision, "cpu_has_amx_bf16", lambda: amx)
    monkeypatch.setattr(precision, "_has_gpu", lambda backend: False)
    assert precision.resolve_precision("auto", backend) == expected
    assert precision.resolve_precision("float32", backend) == "float32"


def test_unknown_precision_is_named() -> None:
    with pytest.raises(InvalidParameterError, match="'precision' must be one of auto, float32, mixed_bfloat16"):
        TrainConfig(precision="fp8")


@pytest.mark.keras
def test_bfloat16_training_saves_a_float32_network(tmp_path: Path) -> None:
    from asl_recognition.models import load_model, read_metadata
    from asl_recognition.models._keras_env import import_keras
    from asl_recognition.trainers.cnn._runner import run_in_process

    keras = import_keras("tensorflow")
    before = keras.mixed_precision.global_policy().name
    train: Any = synthetic_dataset(6, labels=[0, 1, 2], seed=0)
    run = run_in_process(TrainConfig(epochs=1, batch_size=16, threads=1, precision="mixed_bfloat16"),
                         (train.images, train.labels), None, output_dir=tmp_path / "m")
    assert run.model_dir is not None
    assert keras.mixed_precision.global_policy().name == before  # the global policy is restored
    meta = read_metadata(run.model_dir)
    assert meta.extra["training_precision"] == "mixed_bfloat16"
    network = keras.saving.load_model(run.model_dir / "model.keras", compile=False, safe_mode=True)
    assert {layer.dtype_policy.name for layer in network.layers} == {"float32"}
    assert {str(w.dtype) for w in network.weights} == {"float32"}
    proba = load_model(run.model_dir).predict_proba(train.images)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
