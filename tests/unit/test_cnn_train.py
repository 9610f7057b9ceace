"""The CNN training function, model type and ONNX export, on tiny synthetic data."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition.errors import InvalidParameterError
from asl_recognition.models import load_model, read_metadata
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.cnn._runner import run_in_process
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC

pytestmark = pytest.mark.keras

LABELS = [0, 1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def data() -> tuple[Any, Any]:
    return (synthetic_dataset(10, labels=LABELS, seed=0), synthetic_dataset(3, labels=LABELS, seed=1))


@pytest.fixture(scope="module")
def saved(data: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    train, val = data
    out = tmp_path_factory.mktemp("cnn") / "model"
    run = run_in_process(TrainConfig(epochs=2, batch_size=32, threads=1),
                         (train.images, train.labels), (val.images, val.labels), output_dir=out)
    assert run.model_dir == out and not run.pruned
    return out


def test_saved_directory_holds_keras_and_onnx(saved: Path, data: tuple[Any, Any]) -> None:
    meta = read_metadata(saved)
    assert meta.model_type == "keras" and meta.backend == "cnn"
    assert meta.files == {"weights": "model.keras", "onnx": "model.onnx"}
    assert meta.labels == tuple(LABELS)
    assert len(meta.extra["history"]) == 2 and PRIMARY_METRIC in meta.extra["history"][-1]
    # the reported validation accuracy is the saved (batch-norm re-estimated) network's own
    val = data[1]
    saved_accuracy = float(np.mean(load_model(saved).predict(val.images) == val.labels))
    assert meta.metrics["validation_accuracy"] == pytest.approx(saved_accuracy)
    assert meta.hyperparameters["arch"] == "small"
    assert (saved / "model.keras").stat().st_size <= 2_000_000


def test_keras_file_has_no_optimizer_state(saved: Path) -> None:
    with zipfile.ZipFile(saved / "model.keras") as zf:
        names = zf.namelist()
        config = zf.read("config.json").decode()
    assert "model.weights.h5" in names
    assert not json.loads(config).get("compile_config")  # never compiled: no optimizer
    import h5py

    with zipfile.ZipFile(saved / "model.keras") as zf, zf.open("model.weights.h5") as fh, \
            h5py.File(fh, "r") as h5:
        groups: list[str] = []
        h5.visit(groups.append)
    assert not [g for g in groups if "optimizer" in g]


def test_onnx_export_matches_keras_on_raw_pixels(saved: Path, data: tuple[Any, Any]) -> None:
    images = data[1].images
    keras_model = load_model(saved)
    onnx_model = load_model(saved, prefer="onnx")
    assert type(keras_model).__name__ == "KerasModel" and type(onnx_model).__name__ == "OnnxModel"
    np.testing.assert_allclose(keras_model.predict_proba(images), onnx_model.predict_proba(images),
                               atol=1e-5)
    np.testing.assert_allclose(onnx_model.predict_proba(images).sum(axis=1), 1.0, atol=1e-5)
    assert set(onnx_model.predict(images).tolist()) <= set(LABELS)
    # more images than one onnxruntime batch: the batches come back whole and in order
    many = np.random.default_rng(0).integers(0, 256, (1100, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(keras_model.predict_proba(many), onnx_model.predict_proba(many), atol=1e-5)


def test_seed_architecture_is_the_seed_network() -> None:
    from asl_recognition.models._keras_env import import_keras
    from asl_recognition.trainers.cnn.architectures import build_model

    keras = import_keras("tensorflow")
    net = build_model(keras, "seed", num_classes=24, hidden=50, dropout=1)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["InputLayer", "Rescaling", "Reshape", "Conv2D", "MaxPooling2D", "Flatten",
                     "Dense", "Dense"]  # dropout >= 1: no Dropout layer, as in the seed script
    assert net.count_params() == 28 * 10 + (13 * 13 * 28 + 1) * 50 + 51 * 24
    small = build_model(keras, "small", num_classes=24, hidden=128, dropout=0.3)
    assert 460_000 < small.count_params() < 480_000


def test_epoch_hook_can_stop_training(data: tuple[Any, Any]) -> None:
    from asl_recognition.trainers.cnn.train import train

    tr, val = data
    calls: list[int] = []

    def hook(epoch: int, logs: dict[str, float]) -> bool:
        calls.append(epoch)
        assert PRIMARY_METRIC in logs
        return True

    outcome = train(TrainConfig(arch="seed", epochs=3, augment=False, threads=1),
                    (tr.images, tr.labels), (val.images, val.labels), on_epoch=hook)
    assert calls == [1] and outcome.stopped_early and len(outcome.history) == 1


def test_validation_labels_must_occur_in_training(data: tuple[Any, Any]) -> None:
    from asl_recognition.trainers.cnn.train import train

    tr, _ = data
    other = synthetic_dataset(2, labels=[10, 11])
    with pytest.raises(InvalidParameterError, match=r"validation labels \[10, 11\]"):
        train(TrainConfig(arch="seed", epochs=1), (tr.images, tr.labels), (other.images, other.labels))


def test_augmentation_is_identity_at_inference_and_seeded() -> None:
    from asl_recognition.models._keras_env import import_keras
    from asl_recognition.trainers.cnn.augment import make_augmentation

    keras = import_keras("tensorflow")
    x = synthetic_dataset(2, labels=[0, 1]).images.astype("float32")
    layer_a, layer_b = make_augmentation(keras, seed=3), make_augmentation(keras, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer_a(x, training=False)), x)
    a = keras.ops.convert_to_numpy(layer_a(x, training=True))
    b = keras.ops.convert_to_numpy(layer_b(x, training=True))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 255
    assert np.abs(a - x).mean() > 1.0  # it does change the images
    np.testing.assert_allclose(a, b, atol=1e-4)  # same seed, same augmentation


def test_batch_norm_statistics_are_reestimated_exactly(data: tuple[Any, Any]) -> None:
    from asl_recognition.models._keras_env import import_keras
    from asl_recognition.trainers.cnn.architectures import build_model
    from asl_recognition.trainers.cnn.batchnorm import recalibrate_batch_norm

    keras = import_keras("tensorflow")
    train, _ = data
    images = train.images.astype(np.float32)
    net = build_model(keras, "small", num_classes=len(LABELS), hidden=16, dropout=0.3)
    bns = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert recalibrate_batch_norm(keras, net, images, batch_size=7) == len(bns) == 4
    # the first batch-norm layer's statistics are exactly those of its inputs over all images
    acts = np.asarray(keras.Model(net.inputs[0], bns[0].input)(images, training=False), dtype=np.float64)
    flat = acts.reshape(-1, acts.shape[-1])
    np.testing.assert_allclose(np.asarray(bns[0].moving_mean), flat.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(bns[0].moving_variance), flat.var(axis=0), rtol=1e-3, atol=1e-6)
    # in inference mode the normalised activations now have mean ~0 and variance ~1 per channel
    after = np.asarray(keras.Model(net.inputs[0], bns[0].output)(images, training=False), dtype=np.float64)
    after = after.reshape(-1, after.shape[-1])
    np.testing.assert_allclose(after.mean(axis=0), 0.0, atol=1e-3)
    # the seed network has no batch norm: nothing to do
    seed_net = build_model(keras, "seed", num_classes=len(LABELS), hidden=16, dropout=0.5)
    assert recalibrate_batch_norm(keras, seed_net, images) == 0
