"""The model flavours of ``asl_recognition.models``: registration, loading without trainer code,
and models saved by the layout before the flavours moved there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from asl_recognition import load_model
from asl_recognition.data._synthetic import synthetic_groups
from asl_recognition.models import ModelMetadata, TrainedModel, model_types
from asl_recognition.models.onnx import OnnxModel
from asl_recognition.models.product import ProductModel
from asl_recognition.models.sklearn import SklearnModel
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.base import get_trainer

FIXTURES = Path(__file__).parent / "fixtures"
BUILT_IN = ("keras", "onnx", "product", "sklearn")


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_builtin_flavour_is_its_own_module_and_registers_itself(name: str) -> None:
    import importlib

    module = importlib.import_module(f"asl_recognition.models.{name}")
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, TrainedModel) and v.__module__ == module.__name__]
    assert len(classes) == 1, f"{module.__name__} should define exactly one flavour, found {classes}"
    cls = classes[0]
    assert cls.model_type == name
    assert model_types.get(name) is cls  # the lazy built-in entry resolves to the same class


def _sklearn_model(labels: tuple[int, ...] = (0, 1, 2), seed: int = 0) -> TrainedModel:
    return get_trainer("sklearn", max_iter=50).fit(synthetic_dataset(6, labels=labels, seed=seed), seed=seed).model


def _onnx_model() -> OnnxModel:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    ds = synthetic_dataset(6, labels=(0, 1, 2))
    x = ds.images.reshape(len(ds), -1).astype(np.float32)
    clf = LogisticRegression(max_iter=200).fit(x, ds.labels)
    onx = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}})
    meta = ModelMetadata.create(model_type="onnx", backend="test", labels=(0, 1, 2),
                                extra={"onnx": {"input_layout": "flat"}})
    return OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString())


_PROBE = """
import json, sys
import numpy as np
from asl_recognition import load_model
for path in sys.argv[1:]:
    load_model(path).predict(np.zeros((2, 784)))
ours = sorted(m for m in sys.modules if m.startswith("asl_recognition."))
print(json.dumps(ours))
"""


def test_loading_saved_models_imports_no_trainer_code(tmp_path: Path) -> None:
    dirs = {
        "sklearn": _sklearn_model().save(tmp_path / "sklearn"),
        "onnx": _onnx_model().save(tmp_path / "onnx"),
        "product": ProductModel({"a": _sklearn_model(seed=1), "b": _sklearn_model(seed=2)}).save(tmp_path / "product"),
    }
    for name, directory in dirs.items():
        out = subprocess.run([sys.executable, "-c", _PROBE, str(directory)],
                             capture_output=True, text=True, check=True, timeout=300)
        loaded = json.loads(out.stdout.strip().splitlines()[-1])
        assert f"asl_recognition.models.{name}" in loaded, loaded  # the probe really loaded it
        upper = [m for m in loaded if m.split(".")[1] in ("trainers", "compare", "deploy", "job", "cli", "testing")]
        assert upper == [], f"loading a saved {name} model imported {upper}"


def test_model_saved_by_the_previous_layout_still_loads() -> None:
    """The fixture was saved before the flavours moved (its skops archive names the HOG
    transformer as ``asl_recognition.trainers._sklearn.HogFeatures``)."""
    directory = FIXTURES / "legacy_sklearn_model"
    import zipfile

    with zipfile.ZipFile(directory / "model.skops") as archive:
        assert b"asl_recognition.trainers._sklearn" in archive.read("schema.json")
    model = load_model(directory)
    assert isinstance(model, SklearnModel)
    assert type(model.pipeline.steps[0][1]).__module__ == "asl_recognition.models.sklearn"
    # the images it was checked on when saved: the first variant of each of 4 synthetic groups
    images, _, _ = synthetic_groups(n_groups=4, per_group=5, seed=0, n_letters=2)
    expected = json.loads((FIXTURES / "legacy_sklearn_model.expected.json").read_text())["proba"]
    np.testing.assert_allclose(model.predict_proba(images[::5]), expected, atol=1e-5)


def test_renamed_module_map_does_not_widen_the_allow_list(tmp_path: Path) -> None:
    """An old archive may name our old module, but only for the transformers that lived there."""
    import shutil
    import zipfile

    from asl_recognition.errors import ModelFormatError

    copy = tmp_path / "m"
    shutil.copytree(FIXTURES / "legacy_sklearn_model", copy)
    with zipfile.ZipFile(FIXTURES / "legacy_sklearn_model" / "model.skops") as src:
        items = {i.filename: src.read(i) for i in src.infolist()}
    items["schema.json"] = items["schema.json"].replace(b'"HogFeatures"', b'"SklearnTrainer"')
    with zipfile.ZipFile(copy / "model.skops", "w") as dst:
        for name, body in items.items():
            dst.writestr(name, body)
    with pytest.raises(ModelFormatError, match=r"untrusted types \['asl_recognition.models.sklearn.SklearnTrainer'\]"):
        load_model(copy)

