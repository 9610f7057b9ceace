from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asl_recognition import load_model
from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.errors import AslRecognitionError, InvalidParameterError, ModelFormatError
from asl_recognition.models import METADATA_FILE, ModelMetadata, read_metadata
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers._sklearn import SklearnTrainer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds = synthetic_dataset(6)
    result = SklearnTrainer(max_iter=50).fit(ds, validation=ds)
    return result.model.save(tmp_path_factory.mktemp("m") / "model")


def test_metadata_has_every_documented_field(model_dir: Path) -> None:
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    for field in ("format_version", "model_type", "backend", "library_version", "labels", "letters",
                  "preprocessing", "metrics", "data_fingerprint", "hyperparameters", "created_at", "files"):
        assert field in meta, field
    assert meta["letters"][:2] == ["A", "B"]
    assert "J" not in meta["letters"]
    assert meta["files"] == {"weights": "model.skops"}
    assert meta["metrics"]["validation_accuracy"] > 0.5


def test_metadata_rejects_invalid_labels() -> None:
    with pytest.raises(InvalidParameterError):
        ModelMetadata.create(model_type="x", backend="x", labels=(0, 9))
    with pytest.raises(InvalidParameterError):
        ModelMetadata.create(model_type="x", backend="x", labels=(0, 0))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("model_type"), "missing field 'model_type'"),
        (lambda m: m.update(format_version=99), "format_version 99 is not supported"),
        (lambda m: m.update(labels=[0, 25]), "25"),
        (lambda m: m.update(files={"weights": "../escape.skops"}), "escapes the directory"),
        (lambda m: m.update(files={"weights": "gone.skops"}), "'gone.skops' listed in asl_model.json is missing"),
        (lambda m: m.update(model_type="nonexistent"), "'nonexistent' is not a model type; available: "),
        (lambda m: m.update(metrics=[1, 2]), "field 'metrics' must be a JSON object"),
    ],
)
def test_corrupt_metadata_is_reported(model_dir: Path, tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / METADATA_FILE).read_text())
    mutate(meta)
    (copy / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(AslRecognitionError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_model(copy)


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="does not exist"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match="asl_model.json is missing"):
        load_model(tmp_path)
    (tmp_path / METADATA_FILE).write_text("{not json")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        read_metadata(tmp_path)


def test_skops_file_with_untrusted_type_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    import skops.io as sio

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)

    class Evil:  # a type outside the allow-list
        pass

    (copy / "model.skops").write_bytes(sio.dumps({"x": Evil()}))
    with pytest.raises(ModelFormatError, match="untrusted types"):
        load_model(copy)
    (copy / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(ModelFormatError, match="not a skops model file"):
        load_model(copy)


def test_save_overwrite_false_refuses_existing(model_dir: Path) -> None:
    model = load_model(model_dir)
    with pytest.raises(FileExistsError):
        model.save(model_dir, overwrite=False)


def test_onnx_model_type_serves_a_skl2onnx_export(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from asl_recognition.models.onnx import OnnxModel

    ds = synthetic_dataset(6)
    x = ds.images.reshape(len(ds), -1).astype(np.float32) / 255  # scaled: lbfgs converges quickly
    clf = LogisticRegression(max_iter=200).fit(x, ds.labels)
    onx = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}})
    meta = ModelMetadata.create(
        model_type="onnx", backend="test", labels=tuple(int(c) for c in clf.classes_),
        extra={"onnx": {"input_layout": "flat", "input_scale": 1 / 255}},
    )
    model = OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString())
    saved = model.save(tmp_path / "onnx")
    loaded = load_model(saved)
    assert isinstance(loaded, OnnxModel)
    np.testing.assert_allclose(loaded.predict_proba(ds.images), clf.predict_proba(x), atol=1e-5)
    np.testing.assert_array_equal(loaded.predict(ds.images), clf.predict(x))


def test_onnx_zipmap_output_is_mapped_to_labels(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from asl_recognition.models.onnx import OnnxModel

    ds = synthetic_dataset(6, labels=(0, 1, 2))
    x = ds.images.reshape(len(ds), -1).astype(np.float32)
    clf = LogisticRegression(max_iter=200).fit(x, ds.labels)
    onx = to_onnx(clf, x[:1])  # default: ZipMap output (list of {label: probability})
    meta = ModelMetadata.create(model_type="onnx", backend="test", labels=(0, 1, 2),
                                extra={"onnx": {"input_layout": "flat", "output": "output_probability"}})
    model = OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString())
    np.testing.assert_allclose(model.predict_proba(ds.images), clf.predict_proba(x), atol=1e-5)


def test_garbage_onnx_is_a_format_error() -> None:
    from asl_recognition.models.onnx import OnnxModel

    meta = ModelMetadata.create(model_type="onnx", backend="test", labels=VALID_LABELS)
    with pytest.raises(ModelFormatError, match="not a loadable ONNX model"):
        OnnxModel(metadata=meta, onnx_bytes=b"garbage").predict(np.zeros((1, 784)))


def test_prefer_onnx_reaches_the_models_saved_inside_a_model(tmp_path: Path) -> None:
    """``load_model(dir, prefer="onnx")`` (the service's default runtime) loads a product's
    members, and a photo model's pixel expert, through their ONNX exports too."""
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from asl_recognition.models import TrainedModel
    from asl_recognition.models.base import register_model_type
    from asl_recognition.models.onnx import OnnxModel
    from asl_recognition.models.product import ProductModel

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 784)).astype(np.float32)
    clf = LogisticRegression(max_iter=50).fit(x / 255, np.repeat([0, 1], 20))
    onnx_bytes = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}).SerializeToString()

    @register_model_type("test-native-and-onnx")
    class NativeAndOnnx(TrainedModel):
        """A flavour of its own that also saves an ONNX export (as the Keras flavour does)."""

        model_type = "test-native-and-onnx"

        def _predict_proba(self, images: np.ndarray) -> np.ndarray:
            return np.tile(np.float32([0.5, 0.5]), (len(images), 1))

        def _save_files(self, directory: Path) -> dict[str, str]:
            (directory / "model.onnx").write_bytes(onnx_bytes)
            return {"onnx": "model.onnx"}

        @classmethod
        def _load(cls, directory: Path, metadata: ModelMetadata) -> NativeAndOnnx:
            return cls(metadata=metadata)

    def member() -> NativeAndOnnx:
        return NativeAndOnnx(metadata=ModelMetadata.create(
            model_type="test-native-and-onnx", backend="test", labels=(0, 1),
            extra={"onnx": {"input_layout": "flat", "input_scale": 1 / 255}}))  # fmt: skip

    saved = ProductModel({"a": member(), "b": member()}).save(tmp_path / "product")
    native = load_model(saved)
    assert isinstance(native, ProductModel)
    assert all(type(m).__name__ == "NativeAndOnnx" for m in native.members.values())
    served = load_model(saved, prefer="onnx")
    assert isinstance(served, ProductModel)  # the product itself has no export
    assert all(isinstance(m, OnnxModel) for m in served.members.values())
    np.testing.assert_allclose(served.members["a"].predict_proba(x[:4]), clf.predict_proba(x[:4] / 255), atol=1e-5)
    assert all(type(m).__name__ == "NativeAndOnnx" for m in load_model(saved).members.values())  # no leftover
