"""Every saved model directory is an MLflow model: ``MLmodel`` written by the library, loaded by
MLflow's pyfunc through :mod:`asl_recognition.models.pyfunc`, with the model's own predictions."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from asl_recognition import load_model
from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.errors import InvalidParameterError
from asl_recognition.models import MLMODEL_FILE, ModelMetadata, TrainedModel
from asl_recognition.models.pyfunc import PIXEL_COLUMNS
from asl_recognition.testing import synthetic_dataset, synthetic_images
from asl_recognition.trainers.base import get_trainer

mlflow = pytest.importorskip("mlflow")

FIXTURES = Path(__file__).parent / "fixtures"
LABELS = (0, 1, 2)


def _sklearn(seed: int = 0) -> TrainedModel:
    return get_trainer("sklearn", max_iter=50).fit(synthetic_dataset(6, labels=LABELS, seed=seed), seed=seed).model


def _onnx() -> TrainedModel:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from asl_recognition.models.onnx import OnnxModel

    ds = synthetic_dataset(6, labels=LABELS)
    x = ds.images.reshape(len(ds), -1).astype(np.float32)
    clf = LogisticRegression(max_iter=200).fit(x, ds.labels)
    onx = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}})
    meta = ModelMetadata.create(model_type="onnx", backend="test", labels=LABELS,
                                extra={"onnx": {"input_layout": "flat"}})  # fmt: skip
    return OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString())


def _product() -> TrainedModel:
    from asl_recognition.models.product import ProductModel

    return ProductModel({"a": _sklearn(1), "b": _sklearn(2)})


def _photo() -> TrainedModel:
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from asl_recognition.models.photo import PhotoModel, PoseClassifier
    from asl_recognition.photo.hand_shape import N_FEATURES

    rng = np.random.default_rng(0)
    labels = np.array(VALID_LABELS[:3])
    x = np.repeat(rng.normal(size=(3, N_FEATURES)) * 3, 30, axis=0) + rng.normal(size=(90, N_FEATURES))
    scaler = StandardScaler().fit(x)
    mlp = MLPClassifier((8,), max_iter=200, random_state=0).fit(scaler.transform(x), np.repeat(labels, 30))
    return PhotoModel(pose=PoseClassifier.from_sklearn(scaler, mlp), pixel=_sklearn(3), photo_weight=0.5)


FLAVOURS = {"sklearn": _sklearn, "onnx": _onnx, "product": _product, "photo": _photo}


def _images(n: int = 8) -> np.ndarray:
    return synthetic_images(np.array([LABELS[i % 3] for i in range(n)]), seed=5).astype(np.float32)


def _frame(images: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(images.reshape(len(images), -1).astype(int), columns=list(PIXEL_COLUMNS))
    frame.insert(0, "label", 0)  # extra columns (the CSV's label) are ignored
    return frame


def _check_pyfunc(model: TrainedModel, directory: Path) -> None:
    mlmodel = (directory / MLMODEL_FILE).read_text()
    assert "loader_module: \"asl_recognition.models.pyfunc\"" in mlmodel
    assert "pickle" not in mlmodel and "python_model" not in mlmodel
    info = mlflow.models.Model.load(str(directory))
    assert info.flavors["asl_recognition"]["model_type"] == model.model_type
    pyfunc = mlflow.pyfunc.load_model(str(directory))
    images = _images()
    expected = model.predict(images)
    for given in (images, images.reshape(len(images), -1), images.reshape(len(images), -1).tolist(), _frame(images)):
        got = pyfunc.predict(given)
        assert isinstance(got, np.ndarray) and got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_every_flavour_loads_and_predicts_through_mlflow_pyfunc(flavour: str, tmp_path: Path) -> None:
    model = FLAVOURS[flavour]()
    directory = model.save(tmp_path / flavour)
    _check_pyfunc(model, directory)


@pytest.mark.keras
def test_keras_flavour_loads_and_predicts_through_mlflow_pyfunc(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")

    from asl_recognition.models.keras import KerasModel

    network = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                keras.layers.Rescaling(1 / 255), keras.layers.Dense(3, activation="softmax")])
    network(np.zeros((1, 28, 28), np.float32))  # built, as a trained network is (the ONNX export needs it)
    meta = ModelMetadata.create(model_type="keras", backend="test", labels=LABELS,
                                extra={"keras_backend": "tensorflow"})  # fmt: skip
    model = KerasModel(metadata=meta, network=network)
    _check_pyfunc(model, model.save(tmp_path / "keras"))


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).convert("RGB").resize((96, 96)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("flavour", ["photo", "sklearn"])
def test_a_frame_of_photos_goes_through_predict_photos(flavour: str, tmp_path: Path) -> None:
    """Photos as bytes, base64 text (what JSON carries) or paths: the model's predict_photos."""
    model = FLAVOURS[flavour]()
    pyfunc = mlflow.pyfunc.load_model(str(model.save(tmp_path / "m")))
    blobs = [_png(img) for img in _images(3)]
    path = tmp_path / "photo.png"
    path.write_bytes(blobs[2])
    expected = model.predict_photos(blobs)
    frame = pd.DataFrame({"image": [blobs[0], base64.b64encode(blobs[1]).decode(), str(path)]})
    np.testing.assert_array_equal(pyfunc.predict(frame), expected)
    with pytest.raises(InvalidParameterError, match="row 1: neither an existing file nor base64"):
        pyfunc.predict(pd.DataFrame({"image": [blobs[0], "no such photo.png"]}))


def test_a_frame_without_pixel_columns_is_named(tmp_path: Path) -> None:
    pyfunc = mlflow.pyfunc.load_model(str(_sklearn().save(tmp_path / "m")))
    with pytest.raises(InvalidParameterError, match=r"lacks 784 pixel column\(s\) \(pixel1, pixel2"):
        pyfunc.predict(pd.DataFrame({"a": [1, 2]}))


def test_models_saved_without_mlmodel_still_load(tmp_path: Path) -> None:
    """Directories saved before MLmodel files existed (the legacy fixture has none) load as before."""
    legacy = FIXTURES / "legacy_sklearn_model"
    assert not (legacy / MLMODEL_FILE).exists()
    assert load_model(legacy).predict(_images(2)).shape == (2,)
    model = _sklearn()
    directory = model.save(tmp_path / "m")
    (directory / MLMODEL_FILE).unlink()
    np.testing.assert_array_equal(load_model(directory).predict(_images()), model.predict(_images()))


def test_a_failed_save_leaves_no_mlmodel_behind(tmp_path: Path) -> None:
    model = _sklearn()
    model._save_files = lambda directory: {"weights": "missing.bin"}  # type: ignore[method-assign]
    with pytest.raises(Exception, match="did not write its weights"):
        model.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
