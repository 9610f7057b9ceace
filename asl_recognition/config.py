"""Typed configuration: dataclass schemas for Hydra, and the one loader of ``conf/`` files.

Every config group under ``conf/`` is backed by a dataclass schema registered in Hydra's
``ConfigStore`` (:mod:`asl_recognition._schemas` registers them): a wrong key or a wrong type
fails when Hydra composes the config, and the error names the key. YAML files hold only what
differs from the schema's defaults.

Schemas are not written twice: :func:`params_schema` derives one from a constructor's
signature (names, types, defaults), and :func:`dataclass_schema` from a settings dataclass
(``TrainConfig``, ``AzureSettings``...), mapping types OmegaConf cannot hold (``Literal``,
paths, unions of containers) to ones it can; the constructor then validates values.

:func:`load_config` is the one way a library module reads a config file: a shipped option
name (``"seed"`` for ``conf/sweep/seed.yaml``), a YAML path or a mapping, composed by Hydra and
checked against the group's schema.

>>> import dataclasses
>>> @dataclasses.dataclass
... class Policy:
...     interval: int = 1
>>> load_config("policy", {"interval": "x"}, schema=Policy)
Traceback (most recent call last):
...
asl_recognition.errors.ConfigurationError: policy.interval: Value 'x' of type 'str' could not be converted to Integer
>>> load_config("policy", {"intervall": 2}, schema=Policy)
Traceback (most recent call last):
...
asl_recognition.errors.ConfigurationError: policy: unknown key 'intervall'; accepted: interval
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import functools
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from asl_recognition.errors import AslRecognitionError, ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    from omegaconf import DictConfig

__all__ = [
    "compose",
    "conf_dir",
    "copy_field",
    "dataclass_schema",
    "load_config",
    "params_schema",
    "to_plain",
    "validate_config",
]

_PRIMITIVES = (int, float, bool, str)


def conf_dir() -> Path:
    """The directory holding the Hydra configs: inside the installed package, else the repo's."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise AslRecognitionError(f"Hydra configs not found next to {package}; the installation is incomplete")


# -- schemas derived from signatures and dataclasses ------------------------------------------
def _config_type(annotation: Any) -> Any:
    """The OmegaConf type holding values of ``annotation``; None if config files cannot."""
    if annotation is Any:
        return Any
    if annotation in _PRIMITIVES:
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, (PurePath, os.PathLike)):
        return str
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return dataclass_schema(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        kinds = {type(a) for a in args}
        return kinds.pop() if len(kinds) == 1 and kinds <= set(_PRIMITIVES) else Any
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        mapped = list(dict.fromkeys(m for m in map(_config_type, members) if m is not None))
        if not mapped:
            return None
        if len(mapped) == 1:
            inner = mapped[0]
        elif all(m in _PRIMITIVES for m in mapped):
            inner = Union[tuple(mapped)]  # noqa: UP007  (OmegaConf wants typing.Union)
        else:
            return Any
        return inner | None if len(members) < len(args) and inner is not Any else inner
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence):
        return list[str] if args and args[0] is str else list[Any]
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return dict[str, str] if len(args) == 2 and args[1] is str else dict[str, Any]
    return None


def _resolve(annotation: Any, namespace: Mapping[str, Any]) -> Any:
    """Evaluate a string annotation in its module; None when a name exists only for type checkers."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, dict(namespace))  # the annotations of our own modules
    except (NameError, AttributeError, TypeError):
        return None


def _field(name: str, annotation: Any, default: Any) -> tuple[str, Any, Any] | None:
    kind = _config_type(annotation)
    if kind is None:
        return None
    if default is inspect.Parameter.empty or default is dataclasses.MISSING:
        return (name, kind, dataclasses.field(default="???"))  # OmegaConf's mandatory value
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        return (name, kind, dataclasses.field(default_factory=dataclass_schema(type(default))))
    if isinstance(default, (list, tuple, collections.abc.Mapping)):
        value = dict(default) if isinstance(default, collections.abc.Mapping) else list(default)
        return (name, kind, dataclasses.field(default_factory=lambda: value.copy()))
    return (name, kind, dataclasses.field(default=default))


def _schema(class_name: str, fields: list[tuple[str, Any, Any]], doc: str) -> type:
    schema = dataclasses.make_dataclass(class_name, fields)
    schema.__doc__ = doc
    schema.__module__ = __name__
    return schema


@functools.cache
def dataclass_schema(cls: type) -> type:
    """An OmegaConf-ready copy of dataclass ``cls``: same fields and defaults, config types.

    Fields whose type a config file cannot hold (an object, not data) are left out.
    """
    if not dataclasses.is_dataclass(cls):
        raise ConfigurationError(f"{cls!r} is not a dataclass")
    namespace = vars(sys.modules[cls.__module__])
    fields = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        spec = _field(f.name, _resolve(f.type, namespace), default)
        if spec is not None:
            fields.append(spec)
    return _schema(f"{cls.__name__}Schema", fields, f"Config schema of {cls.__module__}.{cls.__qualname__}.")


@functools.cache
def params_schema(factory: Callable[..., Any], *, exclude: tuple[str, ...] = ()) -> type:
    """A dataclass of ``factory``'s keyword parameters (names, config types, defaults).

    A factory taking ``**params`` names the dataclass whose fields they are in a class attribute
    ``extra_params`` (the CNN trainers: :class:`~asl_recognition.trainers.cnn.config.TrainConfig`);
    fields that are arguments of its ``fit`` (``seed``) belong to the job, not to the schema.
    Parameters a config file cannot hold (an object such as a gateway) are left out, as are
    the names in ``exclude``.
    """
    target = factory.__init__ if isinstance(factory, type) else factory  # type: ignore[misc]
    namespace = getattr(target, "__globals__", None) or vars(sys.modules[factory.__module__])
    fields: list[tuple[str, Any, Any]] = []
    names: set[str] = set(exclude)
    for p in inspect.signature(factory).parameters.values():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) or p.name in names:
            continue
        spec = _field(p.name, _resolve(p.annotation, namespace), p.default)
        if spec is not None:
            fields.append(spec)
            names.add(p.name)
    extra = getattr(factory, "extra_params", None)
    if extra is not None:
        fit = getattr(factory, "fit", None)
        job_args = set(inspect.signature(fit).parameters) if fit is not None else set()
        for extra_field in dataclasses.fields(dataclass_schema(extra)):
            if extra_field.name not in names and extra_field.name not in job_args:
                fields.append((extra_field.name, extra_field.type, copy_field(extra_field)))
    name = getattr(factory, "__name__", "factory")
    return _schema(f"{name}Params", fields, f"Config schema of the parameters of {factory.__module__}.{name}.")


def copy_field(f: dataclasses.Field[Any]) -> Any:
    """A new ``dataclasses.field`` with the default (or default factory) of ``f``."""
    if f.default is not dataclasses.MISSING:
        return dataclasses.field(default=f.default)
    return dataclasses.field(default_factory=f.default_factory)


# -- composing and validating ------------------------------------------------------------------
def _require_cli_extra() -> None:
    """Configs are composed and checked by Hydra/OmegaConf, the ``cli`` extra (not in the core)."""
    try:
        import hydra  # noqa: F401
        import omegaconf  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            f"configs need the optional dependency {exc.name!r}, which is not installed; "
            'install it with: pip install "asl-recognition[cli]"'
        ) from exc


def _error(exc: Exception, where: str) -> ConfigurationError:
    """A ConfigurationError naming the key of an OmegaConf/Hydra error."""
    from omegaconf.errors import ConfigKeyError, MissingMandatoryValue

    cause: BaseException = exc
    while cause.__cause__ is not None and not hasattr(cause, "full_key"):
        cause = cause.__cause__
    key = getattr(cause, "full_key", None) or getattr(cause, "key", None)
    message = str(getattr(cause, "msg", None) or cause).splitlines()[0]
    if isinstance(cause, ConfigKeyError) and key:
        parent, _, leaf = str(key).rpartition(".")
        owner = getattr(cause, "object_type", None)
        accepted = ", ".join(f.name for f in dataclasses.fields(owner)) if dataclasses.is_dataclass(owner) else ""
        label = f"{where}.{parent}" if parent else where
        return ConfigurationError(f"{label}: unknown key {leaf!r}" + (f"; accepted: {accepted}" if accepted else ""))
    if isinstance(cause, MissingMandatoryValue) and key:
        return ConfigurationError(f"{where}: {str(key)!r} is required")
    return ConfigurationError(f"{where}.{key}: {message}" if key else f"{where}: {message}")


def validate_config(schema: type, data: Mapping[str, Any] | Any, *, where: str) -> dict[str, Any]:
    """``data`` merged onto ``schema``'s defaults and type-checked, as a plain dict.

    Unknown keys, wrong types and missing required values raise :class:`ConfigurationError`
    naming the key (``where.key``).
    """
    _require_cli_extra()
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(data, Mapping) and not OmegaConf.is_dict(data):
        raise ConfigurationError(f"{where}: a config must be a mapping, got {type(data).__name__}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(_schema_for(schema)), data)
        return to_plain(merged, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        raise _error(exc, where) from None


def _schema_for(schema: type) -> type:
    """``schema`` itself if OmegaConf takes it as it is, else :func:`dataclass_schema` of it."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        OmegaConf.structured(schema)
    except OmegaConfBaseException:
        return dataclass_schema(schema)
    return schema


def to_plain(cfg: Any, *, throw_on_missing: bool = False) -> dict[str, Any]:
    """A composed config as plain Python containers (interpolations resolved)."""
    from omegaconf import OmegaConf

    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=throw_on_missing)
    if not isinstance(container, dict):
        raise ConfigurationError(f"a config must be a mapping, got {type(container).__name__}")
    return {str(k): v for k, v in container.items()}


@contextlib.contextmanager
def _hydra_for(config_dir: Path) -> Iterator[None]:
    """Hydra initialised on ``config_dir``, also inside a running Hydra app (restored after)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    outer = GlobalHydra.instance().hydra if GlobalHydra.instance().is_initialized() else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
            yield
    finally:
        GlobalHydra.instance().clear()
        if outer is not None:
            GlobalHydra.instance().initialize(outer)


def compose(config_name: str, overrides: Sequence[str] = (), *, config_dir: str | os.PathLike[str] | None = None,
            ) -> DictConfig:
    """Compose ``config_name`` (``"config"``, ``"sweep/seed"``) with ``overrides``, as the CLI does.

    Args:
        config_name: a config of ``config_dir`` (default :func:`conf_dir`), without ``.yaml``.
        overrides: Hydra overrides (``["trainer=[svm]", "trainer.svm.params.C=3"]``).
        config_dir: the config directory.
    """
    _require_cli_extra()
    from hydra import compose as hydra_compose

    with _hydra_for(Path(config_dir) if config_dir is not None else conf_dir()):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def _options(group: str) -> list[str]:
    folder = conf_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_config(
    group: str,
    source: Mapping[str, Any] | str | os.PathLike[str],
    *,
    schema: type,
) -> dict[str, Any]:
    """A config of ``group`` checked against ``schema``, as a plain dict with every default.

    Args:
        group: the config group (``"sweep"``, ``"azure"``), used for shipped names and messages.
        source: a shipped option (``"seed"``: ``conf/<group>/seed.yaml``), the path of a YAML
            file (composed by Hydra: defaults lists and interpolations work), or a mapping.
        schema: the dataclass the config must fit.

    Raises:
        ConfigurationError: an unknown name (listing the shipped ones), an unreadable file, or
            a wrong key or type (naming it).
    """
    if isinstance(source, Mapping):
        return validate_config(schema, source, where=group)
    path = Path(source)
    if not path.suffix and len(path.parts) == 1:
        shipped = conf_dir() / group / f"{path}.yaml"
        if not shipped.is_file():
            raise ConfigurationError(f"{str(source)!r} is not a {group} config; available: "
                                     f"{', '.join(_options(group)) or '(none)'}")
        path = shipped
    if not path.is_file():
        raise ConfigurationError(f"{path}: cannot read {group} config: no such file")
    try:
        composed = to_plain(compose(path.stem, config_dir=path.resolve().parent))
    except Exception as exc:  # Hydra's and OmegaConf's parse and composition errors
        raise ConfigurationError(f"{path}: cannot read {group} config: {str(exc).splitlines()[0]}") from exc
    return validate_config(schema, composed, where=str(path))
