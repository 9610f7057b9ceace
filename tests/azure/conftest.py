"""The offline test double at the Azure boundary, and helpers to replay a realistic best run.

:class:`RecordingGateway` implements :class:`asl_recognition.azure.gateway.AzureGateway`: it
records every call with the real SDK objects it receives (tests assert on them) and replays a
best run whose files are real artefacts made by the tests (an AutoML-style ONNX model with one
input per pixel column, or a model folder written by the real CNN training script).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
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


# --------------------------------------------------------------------------------------------
# SDK v2: a real MLClient whose operation objects (client.jobs, client.data, ...) are replaced
# by recorders; everything below them (entities, the library's code) is real.
# --------------------------------------------------------------------------------------------
class _Poller:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class _Ops:
    """One replaced operations object; records (method, kwargs) on the shared client log."""

    def __init__(self, owner: V2Recorder, group: str) -> None:
        self._owner = owner
        self._group = group

    def _record(self, call: str, /, **kwargs: Any) -> None:
        self._owner.calls.append((f"{self._group}.{call}", kwargs))


class _Workspaces(_Ops):
    def get(self, name: str) -> Any:
        self._record("get", name=name)
        if self._owner.workspace_error is not None:
            raise self._owner.workspace_error
        return SimpleNamespace(name=name)


class _Compute(_Ops):
    def get(self, name: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        self._record("get", name=name)
        if self._owner.existing_compute:
            return SimpleNamespace(name=name)
        raise ResourceNotFoundError(f"compute {name} not found")

    def begin_create_or_update(self, compute: Any) -> _Poller:
        self._record("begin_create_or_update", compute=compute)
        return _Poller(compute)


class _Data(_Ops):
    def list(self, name: str | None = None, **kwargs: Any) -> list[Any]:
        self._record("list", name=name)
        return [d for d in self._owner.assets if d.name == name]

    def create_or_update(self, data: Any) -> Any:
        path = Path(data.path)
        csv = path / "sign_language_mnist.csv" if path.is_dir() else path
        files = sorted(p.name for p in path.iterdir()) if path.is_dir() else [path.name]
        mltable = (path / "MLTable").read_text() if path.is_dir() else None
        rows = np.loadtxt(csv, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
        self._record("create_or_update", data=data, files=files, mltable=mltable, rows=rows)
        self._owner.assets.append(SimpleNamespace(name=data.name, version=data.version, tags=dict(data.tags)))
        return SimpleNamespace(name=data.name, version=data.version)


class _Models(_Ops):
    def create_or_update(self, model: Any) -> Any:
        path = Path(model.path)
        self._record("create_or_update", model=model, files=sorted(p.name for p in path.iterdir()))
        assert (path / "asl_model.json").is_file(), "registered folder must be a saved model"
        return SimpleNamespace(name=model.name, version="1")


class _Jobs(_Ops):
    def create_or_update(self, job: Any, **kwargs: Any) -> Any:
        code = getattr(job, "code", None) or getattr(getattr(job, "trial", None), "code", None)
        snapshot = sorted(p.name for p in Path(code).iterdir()) if code and Path(code).is_dir() else []
        self._record("create_or_update", job=job, snapshot=snapshot)
        if snapshot:  # keep the code snapshot (it is a temporary folder): tests run it
            keep = Path(tempfile.mkdtemp(prefix="asl-v2-code-")) / "code"
            shutil.copytree(Path(code), keep)
            self._owner.code_dirs.append(keep)
        return SimpleNamespace(name="job-1", status="Queued", studio_url="https://ml.azure.com/runs/job-1")

    def stream(self, name: str) -> None:
        self._record("stream", name=name)

    def get(self, name: str) -> Any:
        self._record("get", name=name)
        return SimpleNamespace(
            name=name, status=self._owner.final_status, properties={"best_child_run_id": self._owner.best},
            tags={}, studio_url=f"https://ml.azure.com/runs/{name}",
        )  # fmt: skip

    def list(self, parent_job_name: str | None = None, **kwargs: Any) -> list[Any]:
        self._record("list", parent_job_name=parent_job_name)
        return list(self._owner.children)

    def download(self, name: str, *, download_path: str = ".", output_name: str | None = None, **kw: Any) -> None:
        self._record("download", name=name, download_path=download_path, output_name=output_name)
        root = Path(download_path) / (f"named-outputs/{output_name}" if output_name else "artifacts")
        for relative, source in self._owner.outputs.get(output_name, {}).items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copyfile(source, target)


class _Endpoints(_Ops):
    def begin_create_or_update(self, endpoint: Any, **kwargs: Any) -> _Poller:
        self._record("begin_create_or_update", endpoint=endpoint, traffic=dict(endpoint.traffic or {}))
        self._owner.endpoint = endpoint
        return _Poller(endpoint)

    def get(self, name: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        if self._owner.endpoint is None or self._owner.endpoint_deleted:
            raise ResourceNotFoundError(f"endpoint {name} not found")
        ep = self._owner.endpoint
        # what the service reports once it is up
        ep._provisioning_state = "Succeeded"
        ep._scoring_uri = f"https://{name}.westeurope.inference.ml.azure.com/score"
        ep._openapi_uri = f"https://{name}.westeurope.inference.ml.azure.com/swagger.json"
        return ep

    def get_keys(self, name: str) -> Any:
        return SimpleNamespace(primary_key="primary-key", secondary_key="secondary-key")

    def invoke(self, endpoint_name: str, *, request_file: str, deployment_name: str | None = None, **kw: Any) -> str:
        """Score the request with the deployment's own code and model (the real scoring path)."""
        from asl_recognition.deploy._scoring import Scorer

        body = Path(request_file).read_bytes()
        self._record("invoke", endpoint_name=endpoint_name, deployment_name=deployment_name, body=body)
        scorer = Scorer.from_environ({"AZUREML_MODEL_DIR": str(self._owner.deployed_model)})
        reply = scorer.handle(method="POST", body=body, content_type="application/json")
        assert reply.status == 200, reply.body
        return reply.body.decode("utf-8")

    def begin_delete(self, name: str | None = None, **kwargs: Any) -> _Poller:
        self._record("begin_delete", name=name)
        self._owner.endpoint_deleted = True
        return _Poller(None)


class _Deployments(_Ops):
    def begin_create_or_update(self, deployment: Any, **kwargs: Any) -> _Poller:
        code = Path(deployment.code_configuration.code)
        script = code / deployment.code_configuration.scoring_script
        model = Path(deployment.model.path)
        self._record("begin_create_or_update", deployment=deployment, script_exists=script.is_file(),
                     model_files=sorted(p.name for p in model.iterdir()))  # fmt: skip
        # keep what the service would have received (the staged folders are temporary)
        keep = Path(tempfile.mkdtemp(prefix="asl-v2-deployed-"))
        shutil.copytree(model, keep / "model" / model.name)
        self._owner.deployed_model = keep / "model"
        self._owner.deployed_script = script.read_bytes() if script.is_file() else b""
        return _Poller(deployment)

    def get_logs(self, name: str, endpoint_name: str, lines: int, **kwargs: Any) -> str:
        self._record("get_logs", name=name, endpoint_name=endpoint_name, lines=lines)
        return "container log line"


class V2Recorder:
    """Builds a real ``MLClient`` and replaces its operation objects with recorders."""

    def __init__(
        self,
        *,
        best: str = "job-1_3",
        outputs: Mapping[str | None, Mapping[str, Path]] | None = None,
        children: Sequence[Any] = (),
        existing_compute: bool = False,
        final_status: str = "Completed",
        workspace_error: Exception | None = None,
    ) -> None:
        from azure.ai.ml import MLClient

        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.best = best
        self.outputs = {k: dict(v) for k, v in (outputs or {}).items()}
        self.children = list(children)
        self.existing_compute = existing_compute
        self.final_status = final_status
        self.workspace_error = workspace_error
        self.assets: list[Any] = []
        self.code_dirs: list[Path] = []
        self.endpoint: Any = None
        self.endpoint_deleted = False
        self.deployed_model: Path | None = None
        self.deployed_script = b""
        self.client = MLClient(_NoCredential(), "sub", "rg", "ws")
        for attr, cls in (("_workspaces", _Workspaces), ("_compute", _Compute), ("_data", _Data),
                          ("_models", _Models), ("_jobs", _Jobs), ("_online_endpoints", _Endpoints),
                          ("_online_deployments", _Deployments)):  # fmt: skip
            setattr(self.client, attr, cls(self, attr.strip("_")))

    def called(self, name: str) -> list[dict[str, Any]]:
        return [kw for n, kw in self.calls if n == name]


class _NoCredential:
    """A credential that must never be asked for a token offline."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("an offline test reached the network (a token was requested)")


@pytest.fixture
def make_v2() -> Any:
    """Factory of :class:`V2Recorder` (test modules cannot import conftest directly)."""
    return V2Recorder


@pytest.fixture
def v2_azure() -> dict[str, Any]:
    """Azure settings naming a workspace (nothing is contacted)."""
    return {
        "workspace": {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "ws"},
        "compute": {"name": "asl-cpu", "max_nodes": 2, "idle_seconds_before_scaledown": 900},
        "show_output": True,
    }
