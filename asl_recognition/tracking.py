"""Opt-in experiment tracking and the model registry, with MLflow.

Tracking is off unless asked for (``tracking=mlflow`` in the main job's config, or
``run_job(..., tracking="mlflow")``): with the default ``backend: none`` nothing is logged and
MLflow is not even imported. Asked for, the main job (:func:`asl_recognition.job.run_job`) logs
one parent run, a nested child run per trainer and, for the CNN sweep, a child run per trial
under the trainer's run (docs/mlflow.md lists what each run holds).

Runs are handled through :class:`TrackedRun`, which carries its run id and talks to the store
through its own ``MlflowClient``: nothing depends on MLflow's process-global active-run stack,
so sweep trials running in threads, or worker processes on other machines (given a parent run
id), log to the right runs.

>>> tracking_config("mlflow").backend, tracking_config(None).backend
('mlflow', 'none')
>>> start_run(None, output_dir="out") is None  # off: nothing is logged, MLflow not imported
True
>>> default_tracking_uri("/jobs/one")
'sqlite:////jobs/one/mlflow.db'
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from asl_recognition._validation import StrOptions, check_param
from asl_recognition.errors import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    from asl_recognition.models.base import TrainedModel

__all__ = [
    "BACKENDS",
    "RegisteredModel",
    "TrackedRun",
    "TrackingConfig",
    "default_tracking_uri",
    "load_registered_model",
    "redact_uri",
    "register_model",
    "start_run",
    "tracking_config",
]

logger = logging.getLogger(__name__)

#: the tracking backends: ``none`` (off) and ``mlflow``
BACKENDS = ("none", "mlflow")
#: the file the default local store is kept in, in the job's output directory
DEFAULT_STORE = "mlflow.db"
#: MLflow's limits on a parameter value's length and on one batch
_MAX_PARAM_LENGTH = 6000
_PARAM_BATCH = 100
_METRIC_BATCH = 1000
_KEY = re.compile(r"[^\w\-. /]")


@dataclasses.dataclass
class TrackingConfig:
    """``conf/tracking``: where and whether runs are tracked.

    Attributes:
        backend: ``none`` (default: nothing is logged) or ``mlflow``.
        uri: the MLflow tracking URI (``http://host:5000``, ``sqlite:///path/mlflow.db``,
            ``databricks``, ...); None: ``sqlite:///<output_dir>/mlflow.db`` beside the job's
            outputs. The model registry uses the same URI.
        experiment: the MLflow experiment the runs go to (created if missing).
        artifact_location: where a new experiment keeps its artefacts; None: the server's
            default, or ``mlartifacts/`` beside an SQLite store.
        run_name: the parent run's name (None: ``job <output directory name>``).
        log_models: log every saved model directory as an artefact (its ``MLmodel`` makes it
            an MLflow model that the UI can register).
    """

    backend: str = "none"
    uri: str | None = None
    experiment: str = "asl_recognition"
    artifact_location: str | None = None
    run_name: str | None = None
    log_models: bool = True

    def __post_init__(self) -> None:
        check_param("backend", self.backend, StrOptions(BACKENDS), where="tracking", error=ConfigurationError)
        check_param("uri", self.uri, str, None, where="tracking", error=ConfigurationError)
        check_param("experiment", self.experiment, str, where="tracking", error=ConfigurationError)
        check_param("artifact_location", self.artifact_location, str, None, where="tracking",
                    error=ConfigurationError)  # fmt: skip
        check_param("run_name", self.run_name, str, None, where="tracking", error=ConfigurationError)
        check_param("log_models", self.log_models, bool, where="tracking", error=ConfigurationError)

    @property
    def enabled(self) -> bool:
        """Whether anything is tracked."""
        return self.backend != "none"


def tracking_config(value: TrackingConfig | Mapping[str, Any] | str | None) -> TrackingConfig:
    """A :class:`TrackingConfig` from a config section, a backend name or None (off)."""
    if value is None:
        return TrackingConfig()
    if isinstance(value, TrackingConfig):
        return value
    if isinstance(value, str):
        return TrackingConfig(backend=value)
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"tracking must be a mapping or a backend name, got {type(value).__name__}")
    names = {f.name for f in dataclasses.fields(TrackingConfig)}
    unknown = sorted(set(value) - names)
    if unknown:
        raise ConfigurationError(f"tracking: unknown key(s) {unknown}; known: {sorted(names)}")
    return TrackingConfig(**{str(k): v for k, v in value.items()})


def redact_uri(uri: str) -> str:
    """``uri`` without its password, for logs and tags.

    >>> redact_uri("postgresql+psycopg://me:secret@db:5432/sweeps")
    'postgresql+psycopg://me:***@db:5432/sweeps'
    """
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", uri)


def default_tracking_uri(output_dir: str | os.PathLike[str]) -> str:
    """The local store of a job writing to ``output_dir``: an SQLite file in it."""
    return f"sqlite:///{Path(output_dir).absolute() / DEFAULT_STORE}"


def _client(tracking_uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError(
            "tracking with MLflow needs mlflow: pip install 'asl-recognition[mlflow]'"
        ) from exc
    # MLflow writes a "View run ... at" line to stdout when a run on a server ends, into the
    # CLI's progress display; the library logs the run instead (set the variable to see them)
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _artifact_location(config: TrackingConfig, uri: str) -> str | None:
    if config.artifact_location is not None:
        return config.artifact_location
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").absolute().as_uri()
    return None


def _experiment_id(client: Any, name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created if missing (safe when two processes race)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name, artifact_location=artifact_location))
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[_KEY.sub("_", name)] = str(value)[:_MAX_PARAM_LENGTH]
    return out


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and not hasattr(value, "__float__")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class TrackedRun:
    """One MLflow run, addressed by its id (no active-run state).

    Use as a context manager to end it (``FAILED`` if the block raises), or call :meth:`finish`.
    It pickles as its URI and ids, so a trainer holding one can be sent to a worker process,
    which then talks to the same store with a client of its own.
    """

    def __init__(self, *, tracking_uri: str, run_id: str, experiment_id: str, client: Any = None) -> None:
        self.tracking_uri = tracking_uri
        self.run_id = run_id
        self.experiment_id = experiment_id
        self._client = client if client is not None else _client(tracking_uri)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its client (a worker process connects to the store by URI)."""
        return {"tracking_uri": self.tracking_uri, "run_id": self.run_id, "experiment_id": self.experiment_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @classmethod
    def attach(cls, tracking_uri: str, run_id: str) -> TrackedRun:
        """An existing run, e.g. the parent run id a sweep worker on another machine was given."""
        client = _client(tracking_uri)
        run = client.get_run(run_id)
        return cls(tracking_uri=tracking_uri, run_id=run_id, experiment_id=str(run.info.experiment_id), client=client)

    @classmethod
    def create(cls, tracking_uri: str, *, experiment: str, name: str | None = None,
               parent_run_id: str | None = None, artifact_location: str | None = None,
               tags: Mapping[str, Any] | None = None) -> TrackedRun:  # fmt: skip
        """Start a new run in ``experiment`` (created if missing), nested under ``parent_run_id``."""
        client = _client(tracking_uri)
        experiment_id = _experiment_id(client, experiment, artifact_location)
        all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        if parent_run_id is not None:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(experiment_id, run_name=name, tags=all_tags)
        return cls(tracking_uri=tracking_uri, run_id=str(run.info.run_id), experiment_id=experiment_id, client=client)

    def child(self, name: str, *, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None) -> TrackedRun:  # fmt: skip
        """A new run nested under this one (``mlflow.parentRunId``), in the same experiment."""
        all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        all_tags["mlflow.parentRunId"] = self.run_id
        run = self._client.create_run(self.experiment_id, run_name=name, tags=all_tags)
        child = TrackedRun(tracking_uri=self.tracking_uri, run_id=str(run.info.run_id),
                           experiment_id=self.experiment_id, client=self._client)  # fmt: skip
        if params:
            child.log_params(params)
        return child

    @property
    def artifact_uri(self) -> str:
        """Where this run's artefacts are stored."""
        return str(self._client.get_run(self.run_id).info.artifact_uri)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters (nested mappings flattened to ``a.b`` keys; values as text)."""
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in _flatten(params).items()]
        for i in range(0, len(items), _PARAM_BATCH):
            self._client.log_batch(self.run_id, params=items[i : i + _PARAM_BATCH])

    def log_metrics(self, metrics: Mapping[str, Any], *, step: int | None = None) -> None:
        """Log the finite numbers of ``metrics`` (others are skipped) at ``step``."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(_KEY.sub("_", str(k)), v, now, step or 0)
                 for k, raw in metrics.items() if (v := _finite(raw)) is not None]  # fmt: skip
        for i in range(0, len(items), _METRIC_BATCH):
            self._client.log_batch(self.run_id, metrics=items[i : i + _METRIC_BATCH])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (values as text)."""
        from mlflow.entities import RunTag

        items = [RunTag(str(k), str(v)) for k, v in tags.items()]
        if items:
            self._client.log_batch(self.run_id, tags=items)

    def log_artifacts(self, directory: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the files under ``directory`` to ``artifact_path`` of this run."""
        self._client.log_artifacts(self.run_id, str(directory), artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        """End the run with ``status`` (``FINISHED``, ``FAILED`` or ``KILLED``)."""
        self._client.set_terminated(self.run_id, status=status)

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.finish("FINISHED" if exc_type is None else "KILLED" if exc_type is KeyboardInterrupt else "FAILED")

    def __repr__(self) -> str:
        return f"TrackedRun(run_id={self.run_id!r}, tracking_uri={self.tracking_uri!r})"


def start_run(config: TrackingConfig | Mapping[str, Any] | str | None, *, output_dir: str | os.PathLike[str],
              name: str | None = None, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None) -> TrackedRun | None:  # fmt: skip
    """Start the parent run of a job per ``config``; None (and nothing imported) when tracking is off.

    Args:
        config: a :class:`TrackingConfig`, its mapping, a backend name or None.
        output_dir: the job's output directory (the default store goes there).
        name: the run's name when the config names none.
        params: logged as the run's parameters.
        tags: set on the run.
    """
    cfg = tracking_config(config)
    if not cfg.enabled:
        return None
    uri = cfg.uri or default_tracking_uri(output_dir)
    if cfg.uri is None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    run = TrackedRun.create(uri, experiment=cfg.experiment, name=cfg.run_name or name,
                            artifact_location=_artifact_location(cfg, uri), tags=tags)  # fmt: skip
    if params:
        run.log_params(params)
    logger.info("tracking to %s (experiment %r, run %s)", redact_uri(uri), cfg.experiment, run.run_id)
    return run


@dataclasses.dataclass(frozen=True)
class RegisteredModel:
    """A model version in an MLflow model registry.

    Attributes:
        name: the registered model's name.
        version: its version number.
        run_id: the run whose artefacts hold the model files.
        uri: ``models:/<name>/<version>``, what ``mlflow.pyfunc.load_model`` and
            :func:`load_registered_model` take.
    """

    name: str
    version: int
    run_id: str

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"


def register_model(model_dir: str | os.PathLike[str], name: str, *, tracking_uri: str,
                   run: TrackedRun | None = None, experiment: str = "asl_recognition",
                   artifact_path: str = "model") -> RegisteredModel:  # fmt: skip
    """Register the saved model in ``model_dir`` as a new version of ``name``.

    The directory is uploaded as the artefact ``artifact_path`` of ``run`` (by default a new
    run named ``register <name>`` in ``experiment``) and that artefact becomes the version's
    source, so the registry holds the model files themselves.

    Args:
        model_dir: a directory written by :meth:`~asl_recognition.models.TrainedModel.save`.
        name: the registered model's name (created if missing).
        tracking_uri: the tracking and registry URI (``sqlite:///...``, ``http://...``).
        run: the run to log the files to (e.g. the job's parent run).
        experiment: the experiment of the new run when ``run`` is None.
        artifact_path: the artefact folder the model goes to.
    """
    from mlflow.exceptions import MlflowException

    from asl_recognition.models.base import read_metadata

    directory = Path(model_dir)
    read_metadata(directory)  # a model directory, or a ModelFormatError naming the problem
    own = run is None
    if run is None:
        run = TrackedRun.create(tracking_uri, experiment=experiment, name=f"register {name}")
    client = run._client
    try:
        run.log_artifacts(directory, artifact_path)
        try:
            client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = client.create_model_version(name, f"{run.artifact_uri}/{artifact_path}", run_id=run.run_id)
    except BaseException:
        if own:
            run.finish("FAILED")
        raise
    if own:
        run.finish()
    logger.info("registered %s version %s from %s", name, version.version, directory)
    return RegisteredModel(name=name, version=int(version.version), run_id=run.run_id)


_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")


def load_registered_model(model_uri: str, *, tracking_uri: str,
                          dst_path: str | os.PathLike[str] | None = None) -> TrainedModel:  # fmt: skip
    """Download ``models:/<name>/<version>`` (or ``models:/<name>@<alias>``) and load it.

    The files go to ``dst_path`` (default: a new temporary directory, kept: a loaded model
    may read its files lazily). Registry and store come from ``tracking_uri``, not from MLflow's
    global settings.
    """
    import mlflow.artifacts

    from asl_recognition.models.base import load_model

    match = _MODELS_URI.match(model_uri)
    if match is None:
        raise ConfigurationError(f"{model_uri!r} is not a registry URI: expected models:/<name>/<version> "
                                 f"or models:/<name>@<alias>")
    client = _client(tracking_uri)
    name = match["name"]
    version = match["version"] or client.get_model_version_by_alias(name, match["alias"]).version
    source = client.get_model_version_download_uri(name, str(version))
    target = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="asl-registered-"))
    local = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(target), tracking_uri=tracking_uri)
    return load_model(local)
