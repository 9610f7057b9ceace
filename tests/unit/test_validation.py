"""The one parameter-validation helper: intervals, options, types, messages."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pytest

from asl_recognition._validation import Interval, Options, StrOptions, Text, check_param, describe, validate_params
from asl_recognition.errors import ConfigurationError, InvalidParameterError


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        (Interval(float, 0, 1, closed="both"), [0, 0.5, 1, np.float32(1.0)], [-0.1, 1.01, float("nan")]),
        (Interval(float, 0, 1, closed="neither"), [1e-9, 0.999], [0, 1]),
        (Interval(float, 0, 1, closed="left"), [0, 0.5], [1]),
        (Interval(float, 0, 1, closed="right"), [1, 0.5], [0]),
        (Interval(float, 0, None, closed="neither"), [1e-12, 1e9], [0, -1]),
        (Interval(float, None, 5), [-1e9, 5], [5.5]),
        (Interval(int, 1, None), [1, 10**12, np.int64(3)], [0, 1.0, 2.5, "3"]),
        (Interval(int, 0, 65535), [0, 65535], [-1, 65536]),
    ],
)
def test_interval_ends_and_types(interval: Interval, inside: list[object], outside: list[object]) -> None:
    for value in inside:
        assert value in interval, (interval, value)
    for value in outside:
        assert value not in interval, (interval, value)


@pytest.mark.parametrize("kind", [int, float])
def test_bool_is_never_a_number(kind: type) -> None:
    assert True not in Interval(kind, 0, None)
    assert False not in Interval(kind, None, None)
    with pytest.raises(InvalidParameterError, match="got True"):
        check_param("n", True, kind)
    assert check_param("flag", True, bool) is True
    with pytest.raises(InvalidParameterError, match="'flag' must be a boolean, got 1"):
        check_param("flag", 1, bool)


@pytest.mark.parametrize(
    ("constraints", "value", "message"),
    [
        ([Interval(float, 0, None, closed="neither")], -1, "'x' must be > 0, got -1"),
        ([Interval(float, 0, 1)], 1.5, "'x' must be in [0, 1], got 1.5"),
        ([Interval(float, 0, 1, closed="left")], 1.0, "'x' must be in [0, 1), got 1.0"),
        ([Interval(float, 0, 1, closed="neither")], 0, "'x' must be in (0, 1), got 0"),
        ([Interval(int, 1, None)], 0, "'x' must be an integer >= 1, got 0"),
        ([Interval(float, None, 1, closed="neither")], 2, "'x' must be < 1, got 2"),
        ([None, Interval(int, 1, 784)], 0, "'x' must be None or an integer in 1..784, got 0"),
        ([None, Options([-1]), Interval(int, 1, None)], 0, "'x' must be None, -1 or an integer >= 1, got 0"),
        ([StrOptions(["scale", "auto"]), Interval(float, 0, None, closed="neither")], "wide",
         "'x' must be one of scale, auto or > 0, got 'wide'"),
        ([Text()], "  ", "'x' must be a non-empty string, got '  '"),
        ([Text(3, 32)], "ab", "'x' must be a string of 3..32 characters, got 'ab'"),
        ([str, Mapping], 3, "'x' must be a string or a mapping, got 3"),
    ],
)
def test_messages_name_the_parameter_and_what_is_accepted(constraints: list[object], value: object,
                                                          message: str) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        check_param("x", value, *constraints)  # type: ignore[arg-type]


def test_values_that_fit_are_returned_unchanged() -> None:
    assert check_param("x", None, None, Interval(int, 1, None)) is None
    assert check_param("x", "auto", StrOptions(["auto"])) == "auto"
    assert check_param("x", np.int32(4), Interval(int, 1, None)) == 4
    assert check_param("x", {"a": 1}, Mapping) == {"a": 1}


def test_options_compare_values_and_keep_their_order() -> None:
    assert describe([StrOptions(["logistic", "svm", "knn"])]) == "one of logistic, svm, knn"
    assert 1 not in StrOptions(["1"])
    assert True not in Options([1]) and 1 in Options([1])
    with pytest.raises(InvalidParameterError):
        Options([])
    with pytest.raises(InvalidParameterError):
        StrOptions([1])  # type: ignore[list-item]


def test_hint_where_and_error_class() -> None:
    with pytest.raises(InvalidParameterError, match=re.escape("'d' must be in [0, 1] (1 = none), got 2")):
        check_param("d", 2, Interval(float, 0, 1), hint="(1 = none)")
    with pytest.raises(ConfigurationError, match=r"^azure\.compute\.max_nodes must be an integer >= 1, got 0$"):
        check_param("max_nodes", 0, Interval(int, 1, None), where="azure.compute", error=ConfigurationError)


def test_validate_params_checks_only_the_constrained_names() -> None:
    validate_params({"n": 2, "other": object()}, {"n": [Interval(int, 1, None)], "absent": [str]})
    with pytest.raises(InvalidParameterError, match="'n' must be an integer >= 1, got 0"):
        validate_params({"n": 0}, {"n": [Interval(int, 1, None)]})


def test_bad_constraints_are_refused() -> None:
    with pytest.raises(InvalidParameterError):
        Interval(str, 0, 1)
    with pytest.raises(InvalidParameterError):
        Interval(float, 2, 1)
    with pytest.raises(InvalidParameterError):
        Interval(float, 0, 1, closed="open")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="no constraints"):
        check_param("x", 1)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidParameterError) as info:
        check_param("x", "y" * 500, Interval(int, 1, None))
    assert len(str(info.value)) < 150 and str(info.value).endswith("...")
