"""One generic name -> object registry, used for trainers, deployers and model types.

Built-ins register lazily as ``"module:attribute"`` strings so that ``import asl_recognition``
never imports TensorFlow, torch or azureml. Third-party packages register through an
entry-point group; code in the same process uses :meth:`Registry.register` as a decorator.

>>> reg: Registry[type] = Registry("widget", entry_point_group="example.widgets")
>>> @reg.register("plain")
... class Plain: ...
>>> reg.get("plain") is Plain
True
>>> reg.get("plian")
Traceback (most recent call last):
...
asl_recognition.errors.NotFoundError: 'plian' is not a widget; available: plain

:meth:`Registry.create` builds one with keyword parameters, checking their names first:

>>> reg.create("plain", size=3)
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: widget 'plain' has no parameter 'size'; accepted: (none)
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar, cast, overload

from asl_recognition.errors import InvalidParameterError, MissingDependencyError, NotFoundError

__all__ = ["Registry", "check_parameter_names", "import_string"]

T = TypeVar("T")

_OWN_PACKAGE = __name__.split(".")[0]


@dataclass
class _Entry:
    target: Any  # the object, or a "module:attr" string until first use
    extra: str | None  # the pip extra that provides its optional dependencies


def import_string(path: str, *, extra: str | None = None, what: str = "object") -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute.

    A missing third-party dependency raises :class:`MissingDependencyError` naming the extra to
    install; a missing module of this library itself is a bug and propagates unchanged.
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise InvalidParameterError(f"{path!r} is not of the form 'module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and missing != _OWN_PACKAGE:
            hint = f'pip install "asl-recognition[{extra}]"' if extra else f"pip install {missing}"
            raise MissingDependencyError(
                f"{what} needs the optional dependency {missing!r}, which is not installed; "
                f"install it with: {hint}"
            ) from exc
        raise
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """A thread-safe mapping of short names to objects (classes, factories).

    Args:
        kind: what the registry holds, used in messages ("trainer", "deployer").
        entry_point_group: the ``importlib.metadata`` entry-point group third parties use.
    """

    def __init__(self, kind: str, *, entry_point_group: str) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.RLock()
        self._entry_points_loaded = False

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(
        self, name: str, target: T | str, *, extra: str | None = None, replace: bool = False
    ) -> T | str: ...

    def register(
        self,
        name: str,
        target: T | str | None = None,
        *,
        extra: str | None = None,
        replace: bool = False,
    ) -> Callable[[T], T] | T | str:
        """Register ``target`` under ``name``; without ``target``, return a decorator.

        ``target`` may be a ``"module:attribute"`` string, imported on first :meth:`get`.
        Registering a taken name raises unless ``replace=True``.
        """
        if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
            raise InvalidParameterError(
                f"{self.kind} names must be non-empty and alphanumeric (with - or _), got {name!r}"
            )
        if target is None:

            def decorator(obj: T) -> T:
                self.register(name, obj, extra=extra, replace=replace)
                return obj

            return decorator
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None and not replace and existing.target is not target:
                raise InvalidParameterError(
                    f"{self.kind} {name!r} is already registered; pass replace=True to override it"
                )
            self._entries[name] = _Entry(target, extra)
        return target

    def unregister(self, name: str) -> None:
        """Remove ``name``; unknown names raise :class:`NotFoundError`."""
        with self._lock:
            self._load_entry_points()
            if name not in self._entries:
                raise self._not_found(name)
            del self._entries[name]

    def get(self, name: str) -> T:
        """Return the object registered as ``name``, importing it on first use."""
        with self._lock:
            self._load_entry_points()
            entry = self._entries.get(name)
            if entry is None:
                raise self._not_found(name)
            if isinstance(entry.target, str):
                entry.target = import_string(
                    entry.target, extra=entry.extra, what=f"{self.kind} {name!r}"
                )
            return cast(T, entry.target)

    def create(self, name: str, /, **params: Any) -> Any:
        """Build the object registered as ``name`` with keyword ``params``.

        Unknown names list the registered ones (:class:`NotFoundError`); unknown or missing
        parameters are named with the accepted ones (:class:`InvalidParameterError`) before the
        factory runs; the factory itself validates the values (rule 1 of the style guide).
        """
        factory = cast(Callable[..., Any], self.get(name))
        check_parameter_names(factory, params, what=f"{self.kind} {name!r}")
        return factory(**params)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        with self._lock:
            self._load_entry_points()
            return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            self._load_entry_points()
            return name in self._entries

    def _not_found(self, name: str) -> NotFoundError:
        known = ", ".join(sorted(self._entries)) or "(none)"
        return NotFoundError(f"{name!r} is not a {self.kind}; available: {known}")

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._entries:
                self._entries[ep.name] = _Entry(ep.value, None)


def check_parameter_names(factory: Callable[..., Any], params: Mapping[str, Any], *, what: str) -> None:
    """Raise :class:`InvalidParameterError` if ``params`` has names ``factory`` does not accept
    (unless it takes ``**kwargs``) or lacks one it requires, listing the accepted names."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    named = [
        p for p in sig.parameters.values()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    accepted = [p.name for p in named]
    missing = [p.name for p in named if p.default is inspect.Parameter.empty and p.name not in params]
    if missing:
        raise InvalidParameterError(
            f"{what} needs parameter {', '.join(map(repr, missing))}; accepted: {', '.join(accepted)}"
        )
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidParameterError(
            f"{what} has no parameter {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(accepted) or '(none)'}"
        )
