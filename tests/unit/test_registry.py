from __future__ import annotations

import pytest

from asl_recognition import available_trainers, get_trainer, register_trainer
from asl_recognition.errors import InvalidParameterError, MissingDependencyError, NotFoundError
from asl_recognition.registry import Registry, import_string
from asl_recognition.trainers.base import trainers


def test_unknown_trainer_lists_alternatives() -> None:
    with pytest.raises(NotFoundError, match=r"'skleran' is not a trainer; available: .*sklearn"):
        get_trainer("skleran")


def test_builtins_are_registered_lazily() -> None:
    assert {"sklearn"} <= set(available_trainers())


def test_decorator_registers_and_duplicate_needs_replace() -> None:
    reg: Registry[type] = Registry("thing", entry_point_group="asl_recognition.test-none")

    @reg.register("a")
    class A:
        pass

    assert reg.get("a") is A
    with pytest.raises(InvalidParameterError, match="already registered"):
        reg.register("a", int)
    reg.register("a", int, replace=True)
    assert reg.get("a") is int
    reg.unregister("a")
    assert "a" not in reg


def test_invalid_names_rejected() -> None:
    reg: Registry[type] = Registry("thing", entry_point_group="x")
    with pytest.raises(InvalidParameterError):
        reg.register("has space", int)


def test_missing_optional_dependency_names_the_extra() -> None:
    reg: Registry[type] = Registry("trainer", entry_point_group="x")
    reg.register("ghost", "surely_not_installed_pkg.mod:Thing", extra="keras")
    with pytest.raises(MissingDependencyError, match=r'pip install "asl-recognition\[keras\]"'):
        reg.get("ghost")


def test_import_string_rejects_bad_format() -> None:
    with pytest.raises(InvalidParameterError):
        import_string("no_colon_here")


def test_register_trainer_decorator_and_unknown_params() -> None:
    @register_trainer("unit-dummy", replace=True)
    class Dummy:
        def __init__(self, *, alpha: float = 1.0) -> None:
            self.alpha = alpha

        def fit(self, train, *, validation=None, seed=0):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    try:
        assert isinstance(get_trainer("unit-dummy", alpha=2.0), Dummy)
        with pytest.raises(InvalidParameterError, match=r"no parameter 'beta'; accepted: alpha"):
            get_trainer("unit-dummy", beta=1)
    finally:
        trainers.unregister("unit-dummy")


def test_non_trainer_rejected() -> None:
    @register_trainer("unit-notrainer", replace=True)
    class NotATrainer:
        pass

    try:
        with pytest.raises(InvalidParameterError, match="does not provide fit"):
            get_trainer("unit-notrainer")
    finally:
        trainers.unregister("unit-notrainer")
