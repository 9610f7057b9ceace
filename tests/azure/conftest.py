"""The offline test double at the Azure boundary, and helpers to replay a realistic best run.

:class:`RecordingGateway` implements :class:`asl_recognition.azure.gateway.AzureGateway`: it
records every call with the real SDK objects it receives (tests assert on them) and replays a
best run whose files are real artefacts made by the tests (an AutoML-style ONNX model with one
input per pixel column, or a model folder written by the real CNN training script).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("azureml.core", reason="needs the azure extra")

from asl_recognition.azure.gateway import (
    ChildRun,
    RegisteredData,
    RegisteredModel,
    ServiceInfo,
    SubmittedRun,
)


class RecordingGateway:
    """Records what would be sent to Azure ML and replays a configured result."""

    def __init__(
        self,
        *,
        best: ChildRun | None = None,
        files: Mapping[str, Path] | None = None,
        children: Sequence[ChildRun] = (),
        existing_compute: Any = None,
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.best = best
        self.files = dict(files or {})
        self._children = list(children)
        self.existing_compute = existing_compute
        self.uploaded: dict[str, np.ndarray] = {}
        self.service_uri = "http://127.0.0.1:9/score"
        self.deleted = False

    def _record(self, call: str, /, **kwargs: Any) -> None:
        self.calls.append((call, kwargs))

    def called(self, name: str) -> list[dict[str, Any]]:
        return [kw for n, kw in self.calls if n == name]

    # compute
    def get_compute(self, name: str) -> Any | None:
        self._record("get_compute", name=name)
        return self.existing_compute

    def create_compute(self, name: str, config: Any) -> Any:
        self._record("create_compute", name=name, config=config)
        return name

    # data
    def find_dataset(self, name: str, *, fingerprint: str) -> RegisteredData | None:
        self._record("find_dataset", name=name, fingerprint=fingerprint)
        return None

    def upload_dataset(self, csv_path: Path, *, name: str, description: str, tags: Mapping[str, str]) -> RegisteredData:
        from azureml.data.dataset_factory import FileDatasetFactory, TabularDatasetFactory

        self._record("upload_dataset", path=csv_path, name=name, description=description, tags=dict(tags))
        self.uploaded[name] = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
        assert csv_path.read_text().split("\n", 1)[0].startswith("label,pixel1,pixel2")
        url = f"https://example.invalid/{name}/{csv_path.name}"
        tabular = TabularDatasetFactory.from_delimited_files(path=url, validate=False, infer_column_types=False)
        files = FileDatasetFactory.from_files(path=url, validate=False)
        return RegisteredData(name, 1, tabular, files)

    def upload_wheel(self, wheel: Path) -> str:
        self._record("upload_wheel", wheel=wheel)
        return f"https://example.invalid/wheels/{wheel.name}"

    # runs
    def submit(self, experiment: str, config: Any, *, tags: Mapping[str, str]) -> SubmittedRun:
        self._record("submit", experiment=experiment, config=config, tags=dict(tags))
        return SubmittedRun("run-1", experiment, "https://ml.azure.com/runs/run-1")

    def wait(self, run: SubmittedRun, *, show_output: bool) -> str:
        self._record("wait", run=run, show_output=show_output)
        return "Completed"

    def best_child(self, run: SubmittedRun, *, metric: str) -> ChildRun:
        self._record("best_child", run=run, metric=metric)
        assert self.best is not None
        return self.best

    def children(self, run: SubmittedRun) -> Sequence[ChildRun]:
        return list(self._children)

    def download(self, child: ChildRun, *, prefix: str, destination: Path) -> Path:
        self._record("download", child=child, prefix=prefix, destination=destination)
        source = self.files[prefix]
        target = destination / prefix
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
        return target

    # models and services
    def register_model(self, path: Path, *, name: str, tags: Mapping[str, str], description: str) -> RegisteredModel:
        files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
        self._record("register_model", path=path, name=name, tags=dict(tags), description=description, files=files)
        assert (path / "asl_model.json").is_file(), "registered folder must be a saved model"
        return RegisteredModel(name, 1, f"{name}:1", handle={"name": name})

    def deploy(
        self,
        *,
        name: str,
        models: Sequence[RegisteredModel],
        inference_config: Any,
        deployment_config: Any,
        overwrite: bool,
    ) -> Any:
        self._record(
            "deploy",
            name=name,
            models=list(models),
            inference_config=inference_config,
            deployment_config=deployment_config,
            overwrite=overwrite,
        )
        return {"service": name}

    def wait_for_deployment(self, service: Any, *, show_output: bool) -> None:
        self._record("wait_for_deployment", service=service)

    def get_service(self, name: str) -> Any | None:
        return None

    def service_info(self, service: Any) -> ServiceInfo:
        return ServiceInfo(
            service["service"],
            "Deleted" if self.deleted else "Healthy",
            self.service_uri,
            self.service_uri.replace("/score", "/swagger.json"),
        )

    def service_logs(self, service: Any) -> str:
        return "container log line"

    def service_keys(self, service: Any) -> tuple[str, str]:
        return "primary-key", "secondary-key"

    def update_service(self, service: Any, changes: Mapping[str, Any]) -> None:
        self._record("update_service", service=service, changes=dict(changes))

    def delete_service(self, service: Any) -> None:
        self._record("delete_service", service=service)
        self.deleted = True


def automl_style_onnx(train_images: np.ndarray, train_labels: np.ndarray) -> bytes:
    """A real ONNX classifier shaped like AutoML's export: 784 float inputs pixel1..pixel784
    of shape (N, 1), concatenated inside the graph, ZipMap probabilities out."""
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300).fit(train_images.reshape(len(train_images), -1) / 255.0, train_labels)
    # scale inside the graph like AutoML's featurisation: raw 0..255 columns in
    model = convert_sklearn(
        clf, initial_types=[("scaled", FloatTensorType([None, 784]))], target_opset={"": 17, "ai.onnx.ml": 3}
    )
    graph = model.graph
    del graph.input[:]
    names = [f"pixel{i}" for i in range(1, 785)]
    graph.input.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names)
    scale = helper.make_tensor("inv255", TensorProto.FLOAT, [], [1.0 / 255.0])
    graph.initializer.append(scale)
    graph.node.insert(0, helper.make_node("Mul", ["raw", "inv255"], ["scaled"]))
    graph.node.insert(0, helper.make_node("Concat", names, ["raw"], axis=1))
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture
def azure_settings() -> Any:
    from asl_recognition.azure.settings import AzureSettings

    return AzureSettings.from_mapping(
        {
            "workspace": {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws"},
            "compute": {"name": "asl-cpu", "max_nodes": 2, "idle_seconds_before_scaledown": 900},
            "show_output": False,
        },
        environ={},
    )


@pytest.fixture
def make_gateway() -> Any:
    """Factory of :class:`RecordingGateway` (test modules cannot import conftest directly)."""
    return RecordingGateway


@pytest.fixture
def make_onnx() -> Any:
    """Factory of AutoML-style ONNX bytes."""
    return automl_style_onnx
