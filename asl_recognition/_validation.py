"""One parameter-validation helper for every trainer, deployer and setting.

In the spirit of scikit-learn's ``validate_params`` / ``Interval`` / ``StrOptions``: a parameter
is valid when it satisfies *any* of its constraints, and the error names the parameter, says
what is accepted and shows what was given. A constraint is one of

* ``None``: the value may be None;
* a type (``str``, ``bool``, ``int``, ``float``, ``Mapping`` ...): ``isinstance``, where
  ``bool`` never counts as a number (``True`` is not ``1`` here) and ``float`` means any real;
* :class:`Interval`: a number of a type between two ends, each open or closed;
* :class:`Options` / :class:`StrOptions`: one of a few values;
* :class:`Text`: a string of a bounded length.

>>> check_param("C", -1, Interval(float, 0, None, closed="neither"))
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'C' must be > 0, got -1
>>> check_param("workers", True, Interval(int, 1, None))
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'workers' must be an integer >= 1, got True
>>> check_param("pca_components", 0, None, Interval(int, 1, 784))
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'pca_components' must be None or an integer in 1..784, got 0
>>> check_param("compute", "cloud", StrOptions(["local", "azure"]))
Traceback (most recent call last):
...
asl_recognition.errors.InvalidParameterError: 'compute' must be one of local, azure, got 'cloud'
>>> check_param("fraction", 0.2, Interval(float, 0, 1, closed="neither"))
0.2
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Literal, TypeAlias

from asl_recognition.errors import InvalidParameterError

__all__ = [
    "Constraint",
    "Interval",
    "Options",
    "StrOptions",
    "Text",
    "check_param",
    "describe",
    "validate_params",
]

Closed = Literal["left", "right", "both", "neither"]

_TYPE_NAMES: dict[type, str] = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    bytes: "bytes",
    dict: "a mapping",
    Mapping: "a mapping",
    list: "a list",
    Sequence: "a sequence",
    tuple: "a tuple",
    PurePath: "a path",
}


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number(x: float) -> str:
    if isinstance(x, numbers.Integral):
        return str(int(x))
    text = f"{x:g}"
    return text if float(text) == x else repr(float(x))


class Interval:
    """Numbers of ``type`` between ``left`` and ``right`` (None: unbounded on that side).

    Args:
        type: ``int`` (integers only; ``True`` is not one) or ``float`` (any real number).
        left, right: the ends; None for no bound.
        closed: which ends belong to the interval: ``"both"`` (default), ``"left"``,
            ``"right"`` or ``"neither"``.

    >>> Interval(float, 0, 1, closed="left").describe()
    'in [0, 1)'
    >>> Interval(int, 1, None).describe(), Interval(int, 0, 65535).describe()
    ('an integer >= 1', 'an integer in 0..65535')
    >>> 0 in Interval(float, 0, None, closed="neither")
    False
    """

    def __init__(self, type: type, left: float | None, right: float | None, *, closed: Closed = "both") -> None:
        if type not in (int, float):
            raise InvalidParameterError(f"Interval type must be int or float, got {type!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise InvalidParameterError(f"Interval closed must be left, right, both or neither, got {closed!r}")
        if left is not None and right is not None and left > right:
            raise InvalidParameterError(f"Interval left end {left} exceeds right end {right}")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    def __contains__(self, value: Any) -> bool:
        if not (_is_integer(value) if self.type is int else _is_real(value)):
            return False
        left_closed = self.closed in ("left", "both")
        right_closed = self.closed in ("right", "both")
        if self.left is not None and not (value >= self.left if left_closed else value > self.left):
            return False
        return self.right is None or bool(value <= self.right if right_closed else value < self.right)

    def describe(self) -> str:
        """What the interval accepts, in words (``'> 0'``, ``'an integer in 1..784'``)."""
        prefix = "an integer " if self.type is int else ""
        left_closed = self.closed in ("left", "both")
        right_closed = self.closed in ("right", "both")
        if self.left is None and self.right is None:
            return prefix.strip() or "a number"
        if self.right is None:
            assert self.left is not None
            return f"{prefix}{'>=' if left_closed else '>'} {_number(self.left)}"
        if self.left is None:
            return f"{prefix}{'<=' if right_closed else '<'} {_number(self.right)}"
        if self.type is int and left_closed and right_closed:
            return f"{prefix}in {_number(self.left)}..{_number(self.right)}"
        return (f"{prefix}in {'[' if left_closed else '('}{_number(self.left)}, "
                f"{_number(self.right)}{']' if right_closed else ')'}")

    def __repr__(self) -> str:
        return f"Interval({self.type.__name__}, {self.left!r}, {self.right!r}, closed={self.closed!r})"


class Options:
    """One of ``values`` (compared with ``==``; a bool matches only a bool option).

    >>> Options([-1]).describe(), -1 in Options([-1]), True in Options([1])
    ('-1', True, False)
    """

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)
        if not self.values:
            raise InvalidParameterError("Options needs at least one value")

    def __contains__(self, value: Any) -> bool:
        for option in self.values:
            if isinstance(value, bool) != isinstance(option, bool):
                continue
            try:
                if value == option:
                    return True
            except Exception:  # e.g. an array compared with a scalar
                continue
        return False

    def describe(self) -> str:
        """``'one of a, b, c'`` (``repr`` of a single option)."""
        if len(self.values) == 1:
            return repr(self.values[0])
        return "one of " + ", ".join(str(v) for v in self.values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.values)!r})"


class StrOptions(Options):
    """One of a few strings, in the order given (the message lists them in that order).

    >>> "svm" in StrOptions(["logistic", "svm"]), 1 in StrOptions(["1"])
    (True, False)
    """

    def __init__(self, values: Iterable[str]) -> None:
        super().__init__(values)
        if not all(isinstance(v, str) for v in self.values):
            raise InvalidParameterError(f"StrOptions takes strings, got {self.values!r}")

    def __contains__(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values


class Text:
    """A string of ``min_length`` to ``max_length`` characters (default: non-empty; blank
    strings do not count as non-empty).

    >>> Text().describe(), Text(3, 32).describe()
    ('a non-empty string', 'a string of 3..32 characters')
    """

    def __init__(self, min_length: int = 1, max_length: int | None = None) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def __contains__(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.min_length > 0 and not value.strip():
            return False
        return len(value) >= self.min_length and (self.max_length is None or len(value) <= self.max_length)

    def describe(self) -> str:
        """``'a non-empty string'`` or ``'a string of 3..32 characters'``."""
        if self.max_length is None:
            return "a non-empty string" if self.min_length == 1 else f"a string of {self.min_length}+ characters"
        return f"a string of {self.min_length}..{self.max_length} characters"

    def __repr__(self) -> str:
        return f"Text({self.min_length!r}, {self.max_length!r})"


Constraint: TypeAlias = "type | tuple[type, ...] | Interval | Options | Text | None"


def _satisfies(value: Any, constraint: Constraint) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, (Interval, Options, Text)):
        return value in constraint
    types = constraint if isinstance(constraint, tuple) else (constraint,)
    for kind in types:
        if kind is int and _is_integer(value):
            return True
        if kind is float and _is_real(value):
            return True
        if kind not in (int, float) and isinstance(value, kind):
            return True
    return False


def _describe_one(constraint: Constraint) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, (Interval, Options, Text)):
        return constraint.describe()
    types = constraint if isinstance(constraint, tuple) else (constraint,)
    return " or ".join(_TYPE_NAMES.get(t, f"an instance of {t.__name__}") for t in types)


def describe(constraints: Sequence[Constraint]) -> str:
    """What ``constraints`` accept together, in words (``'None or an integer >= 1'``)."""
    parts = [_describe_one(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_param(
    name: str,
    value: Any,
    *constraints: Constraint,
    hint: str = "",
    where: str | None = None,
    error: type[Exception] = InvalidParameterError,
) -> Any:
    """Return ``value`` if it satisfies any of ``constraints``; else raise ``error``.

    Args:
        name: the parameter's name, quoted in the message (``'C' must be > 0, got -1``).
        value: the value given.
        *constraints: what is accepted (see the module docstring).
        hint: words appended to what is accepted (``"(1 = no dropout)"``).
        where: a config path the name belongs to: the message then reads
            ``azure.compute.max_nodes must be ...`` (unquoted, as in the config).
        error: the exception class (default :class:`InvalidParameterError`).
    """
    if not constraints:
        raise InvalidParameterError(f"no constraints given for {name!r}")
    if any(_satisfies(value, c) for c in constraints):
        return value
    label = f"{where}.{name}" if where else repr(name)
    accepted = describe(constraints) + (f" {hint}" if hint else "")
    raise error(f"{label} must be {accepted}, got {_shown(value)}")


def validate_params(
    params: Mapping[str, Any],
    constraints: Mapping[str, Sequence[Constraint]],
    *,
    where: str | None = None,
    error: type[Exception] = InvalidParameterError,
) -> None:
    """Check every entry of ``params`` that has constraints (the first failure raises).

    >>> validate_params({"n": 3, "mode": "fast"}, {"n": [Interval(int, 1, None)],
    ...                                            "mode": [StrOptions(["fast", "exact"])]})
    >>> validate_params({"n": 0}, {"n": [Interval(int, 1, None)]}, where="sweep")
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: sweep.n must be an integer >= 1, got 0
    """
    for name, allowed in constraints.items():
        if name in params:
            check_param(name, params[name], *allowed, where=where, error=error)
