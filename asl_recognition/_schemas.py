"""The schemas of ``conf/``, registered in Hydra's ConfigStore under the group ``schema``.

=============================  =============================================================
``schema/job``                 ``conf/config.yaml``: ``seed``, ``quiet``, ``report`` and the
                               ``data``, ``compare``, ``azure`` and ``tracking`` sections
``schema/compare_command``     ``conf/compare.yaml``
``schema/serve``               ``conf/serve.yaml``
``schema/deploy``              ``conf/deploy.yaml``
``schema/trainer/<name>``      an entry of the ``trainer`` group: ``name``, ``params`` (those of
                               the trainer registered as ``name``) and ``refit``
``schema/deployer/<name>``     a ``deployer`` config: ``name`` and ``params``
``schema/data``                ``conf/data``: :func:`~asl_recognition.data.load_dataset` options
                               and ``validation`` (:meth:`~asl_recognition.data.Dataset.split_validation`)
``schema/compare``             ``conf/compare``: :class:`~asl_recognition.compare.Comparator` options
``schema/azure``               ``conf/azure``: :class:`~asl_recognition.azure.settings.AzureSettings`
``schema/sweep``               ``conf/sweep``: :class:`~asl_recognition.trainers.cnn.sweep.SweepConfig`
``schema/tracking``            ``conf/tracking``: :class:`~asl_recognition.tracking.TrackingConfig`
=============================  =============================================================

Each is derived from the code it configures (:func:`~asl_recognition.config.params_schema`,
:func:`~asl_recognition.config.dataclass_schema`), so a new parameter appears in the config
schema without being written twice. A YAML file names its schema first in its defaults list
(``- /schema/trainer/sklearn@svm``) and holds only what differs from the defaults.

>>> register_schemas()
>>> from hydra.core.config_store import ConfigStore
>>> "sklearn.yaml" in ConfigStore.instance().list("schema/trainer")
True
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from asl_recognition.config import copy_field, dataclass_schema, params_schema
from asl_recognition.errors import AslRecognitionError

__all__ = ["register_schemas", "trainer_entry_schema"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()


def _dataclass(name: str, fields: list[tuple[str, Any, Any]], doc: str) -> type:
    schema = dataclasses.make_dataclass(name, fields)
    schema.__doc__ = doc
    schema.__module__ = __name__
    return schema


def _default(schema: type) -> Any:
    return dataclasses.field(default_factory=schema)


def trainer_entry_schema(name: str, factory: Any) -> type:
    """The schema of one ``trainer`` entry whose backend is ``name`` (built by ``factory``)."""
    params = params_schema(factory)
    return _dataclass(f"TrainerEntry_{name}", [
        ("name", str, dataclasses.field(default=name)),
        ("params", params, _default(params)),
        ("refit", bool, dataclasses.field(default=False)),
    ], f"An entry of the trainer group for the {name!r} backend.")  # fmt: skip


def _deployer_entry_schema(name: str, factory: Any) -> type:
    params = params_schema(factory)
    return _dataclass(f"DeployerEntry_{name}", [
        ("name", str, dataclasses.field(default=name)),
        ("params", params, _default(params)),
    ], f"The deployer config of the {name!r} deployer.")  # fmt: skip


def _group_schemas() -> dict[str, type]:
    from asl_recognition.azure.settings import AzureSettings
    from asl_recognition.compare import Comparator
    from asl_recognition.data import Dataset, load_dataset
    from asl_recognition.tracking import TrackingConfig
    from asl_recognition.trainers.cnn.sweep import SweepConfig

    split = params_schema(Dataset.split_validation, exclude=("self",))
    load = params_schema(load_dataset, exclude=("split",))
    data = _dataclass("DataConfig", [
        *((f.name, f.type, copy_field(f)) for f in dataclasses.fields(load)),
        ("validation", split, _default(split)),
        ("photos_train", str | None, dataclasses.field(default=None)),
    ], "conf/data: load_dataset options, the validation split's options and the training photos.")  # fmt: skip
    return {
        "data": data,
        "compare": params_schema(Comparator, exclude=("test_dataset",)),
        "azure": dataclass_schema(AzureSettings),
        "sweep": SweepConfig,
        "tracking": dataclass_schema(TrackingConfig),
    }


def _command_schemas(groups: dict[str, type]) -> dict[str, type]:
    data, compare, azure, tracking = groups["data"], groups["compare"], groups["azure"], groups["tracking"]
    quiet = ("quiet", bool, dataclasses.field(default=False))
    return {
        "job": _dataclass("JobConfig", [
            ("seed", int, dataclasses.field(default=0)),
            quiet,
            ("report", bool, dataclasses.field(default=True)),
            ("workers", int | None, dataclasses.field(default=-1)),
            ("trainer", dict[str, Any], dataclasses.field(default_factory=dict)),
            ("data", data, _default(data)),
            ("compare", compare, _default(compare)),
            ("azure", azure, _default(azure)),
            ("tracking", tracking, _default(tracking)),
        ], "conf/config.yaml: the main job."),
        "compare_command": _dataclass("CompareCommandConfig", [
            ("models", dict[str, str], dataclasses.field(default_factory=dict)),
            ("report_dir", str | None, dataclasses.field(default=None)),
            quiet,
            ("data", data, _default(data)),
            ("compare", compare, _default(compare)),
        ], "conf/compare.yaml: compare saved models."),
        "serve": _dataclass("ServeConfig", [
            ("model", str, dataclasses.field(default="???")),
            quiet,
            ("deployer", Any, dataclasses.field(default=None)),
        ], "conf/serve.yaml: serve a saved model locally."),
        "deploy": _dataclass("DeployConfig", [
            ("model", str, dataclasses.field(default="???")),
            ("name", str | None, dataclasses.field(default=None)),
            quiet,
            ("deployer", Any, dataclasses.field(default=None)),
            ("azure", azure, _default(azure)),
        ], "conf/deploy.yaml: deploy a saved model."),
    }  # fmt: skip


def register_schemas() -> None:
    """Store every schema in Hydra's ConfigStore (again after new registrations: idempotent).

    Trainers and deployers are those registered at the time, built-in, by entry point or by
    decorator; one whose optional dependencies are missing is skipped (its configs are then
    composed without a schema, and using it names the extra to install).
    """
    from hydra.core.config_store import ConfigStore

    from asl_recognition.deploy.base import deployers
    from asl_recognition.trainers.base import trainers

    with _lock:
        store = ConfigStore.instance()
        groups = _group_schemas()
        for name, schema in {**groups, **_command_schemas(groups)}.items():
            store.store(group="schema", name=name, node=schema)
        for registry, group, entry in ((trainers, "schema/trainer", trainer_entry_schema),
                                       (deployers, "schema/deployer", _deployer_entry_schema)):
            for name in registry.names():
                try:
                    factory = registry.get(name)
                    store.store(group=group, name=name, node=entry(name, factory))
                except (AslRecognitionError, TypeError, ValueError) as exc:
                    logger.debug("no config schema for %s %r: %s", registry.kind, name, exc)
