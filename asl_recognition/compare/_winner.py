"""The rule that names the winner of a comparison, stated in words in every report.

The default rule: highest test accuracy; models within ``tolerance`` of the best count as tied,
and ties go to the smaller model on disk, then to the lower single-image latency.

>>> rule = WinnerRule()
>>> print(rule.describe())  # doctest: +NORMALIZE_WHITESPACE
highest test accuracy; ties (exactly equal) broken by smaller size on disk,
then lower single-image latency
>>> rows = [{"name": "a", "accuracy": 0.9, "size": 10, "latency": 2.0},
...         {"name": "b", "accuracy": 0.9, "size": 5, "latency": 3.0}]
>>> rule.rank(rows)
['b', 'a']

A rule may carry **constraints**: bounds a model must meet to compete (at least the bound for
a higher-is-better criterion, at most for a lower-is-better one). Models that miss one rank
after every model that meets them all, in the same order among themselves. When a photo set is
evaluated, the Comparator's default is :data:`PHOTOS_WINNER_RULE`:

>>> print(PHOTOS_WINNER_RULE.describe())  # doctest: +NORMALIZE_WHITESPACE
highest accuracy on real photos among models with test accuracy at least 0.995 (models that
miss it rank after those that meet it); ties (exactly equal) broken by smaller size on disk,
then lower single-image latency
>>> rows = [{"name": "photo-best", "photo_accuracy": 0.9, "accuracy": 0.99},
...         {"name": "safe", "photo_accuracy": 0.7, "accuracy": 0.996}]
>>> PHOTOS_WINNER_RULE.rank(rows)
['safe', 'photo-best']
>>> PHOTOS_WINNER_RULE.note(rows)
'photo-best does not meet test accuracy at least 0.995 and ranks after the models that do.'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from asl_recognition.errors import InvalidParameterError

__all__ = ["CRITERIA", "PHOTOS_WINNER_RULE", "WinnerRule"]

#: criterion -> (True if higher is better, words used in the stated rule)
CRITERIA: dict[str, tuple[bool, str]] = {
    "accuracy": (True, "test accuracy"),
    "macro_f1": (True, "test macro-F1"),
    "robustness": (True, "mean accuracy under corruptions"),
    "photo_accuracy": (True, "accuracy on real photos"),
    "size": (False, "size on disk"),
    "latency": (False, "single-image latency"),
    "batch_latency": (False, "batch latency"),
    "training_time": (False, "training time"),
}

#: How a constraint's bound is written: criterion -> (divisor, unit).
_UNITS: dict[str, tuple[float, str]] = {
    "size": (1e6, " MB"),
    "latency": (1.0, " ms"),
    "batch_latency": (1.0, " ms"),
    "training_time": (1.0, " s"),
}

_FIELDS = ("metric", "tie_breakers", "tolerance", "constraints")


def _criterion(name: object) -> str:
    if not isinstance(name, str) or name not in CRITERIA:
        raise InvalidParameterError(f"{name!r} is not a winner criterion; available: {', '.join(sorted(CRITERIA))}")
    return name


@dataclasses.dataclass(frozen=True)
class WinnerRule:
    """How the winner is chosen.

    Attributes:
        metric: the primary criterion (a key of :data:`CRITERIA`, usually higher-is-better).
        tie_breakers: criteria applied in order among models tied on ``metric``.
        tolerance: models whose ``metric`` is within this of the best are tied (0 = exact).
        constraints: ``{criterion: bound}`` a model must meet to compete: at least ``bound``
            for a higher-is-better criterion (``{"accuracy": 0.995}``), at most ``bound`` for a
            lower-is-better one (``{"size": 10e6}``, in bytes; latencies in ms, times in s).
            A missing value misses the constraint. Models that miss any constraint rank after
            all models that meet them; if none meets them, the order is the rule's without them
            (:meth:`note` says so).
    """

    metric: str = "accuracy"
    tie_breakers: tuple[str, ...] = ("size", "latency")
    tolerance: float = 0.0
    constraints: Mapping[str, float] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tie_breakers", tuple(self.tie_breakers))
        for name in (self.metric, *self.tie_breakers):
            _criterion(name)
        if not (isinstance(self.tolerance, (int, float)) and 0 <= self.tolerance < 1):
            raise InvalidParameterError(f"'tolerance' must be in [0, 1), got {self.tolerance!r}")
        if not isinstance(self.constraints, Mapping):
            raise InvalidParameterError(
                f"'constraints' must be a mapping {{criterion: bound}}, got {self.constraints!r}"
            )
        bounds: dict[str, float] = {}
        for name, bound in self.constraints.items():
            _criterion(name)
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise InvalidParameterError(f"constraint {name!r} must be a finite number, got {bound!r}")
            bounds[name] = float(bound)
        object.__setattr__(self, "constraints", bounds)

    @classmethod
    def parse(cls, value: WinnerRule | str | Mapping[str, Any] | None) -> WinnerRule:
        """Accept a rule, a primary metric name, or a mapping of the fields (from YAML)."""
        if value is None:
            return cls()
        if isinstance(value, WinnerRule):
            return value
        if isinstance(value, str):
            return cls(metric=value)
        if isinstance(value, Mapping):
            unknown = set(value) - set(_FIELDS)
            if unknown:
                raise InvalidParameterError(
                    f"winner_rule has no field {', '.join(map(repr, sorted(unknown)))}; accepted: {', '.join(_FIELDS)}"
                )
            return cls(
                metric=str(value.get("metric", "accuracy")),
                tie_breakers=tuple(value.get("tie_breakers", ("size", "latency"))),
                tolerance=float(value.get("tolerance", 0.0)),
                constraints=value.get("constraints") or {},
            )
        raise InvalidParameterError(f"winner_rule must be a name, a mapping or a WinnerRule; got {value!r}")

    # -- words -------------------------------------------------------------------------------
    def _constraint_text(self) -> str:
        """``"test accuracy at least 0.995 and size on disk at most 10 MB"``."""
        parts = []
        for name, bound in self.constraints.items():
            higher, words = CRITERIA[name]
            scale, unit = _UNITS.get(name, (1.0, ""))
            parts.append(f"{words} {'at least' if higher else 'at most'} {bound / scale:g}{unit}")
        return " and ".join(parts)

    def describe(self) -> str:
        """The rule in words, as printed in reports."""
        higher, words = CRITERIA[self.metric]
        text = f"{'highest' if higher else 'lowest'} {words}"
        if self.constraints:
            it = "it" if len(self.constraints) == 1 else "them"
            text += f" among models with {self._constraint_text()} "
            text += f"(models that miss {it} rank after those that meet {it})"
        if self.tie_breakers:
            tie = "exactly equal" if self.tolerance == 0 else f"within {self.tolerance:g}"
            steps = [
                f"{'larger' if CRITERIA[b][0] else 'smaller' if b == 'size' else 'lower'} {CRITERIA[b][1]}"
                for b in self.tie_breakers
            ]
            text += f"; ties ({tie}) broken by " + ", then ".join(steps)
        return text

    def note(self, rows: Sequence[Mapping[str, Any]]) -> str | None:
        """What the constraints did to ``rows`` (in words), or None when every model meets them.

        >>> rule = WinnerRule(metric="photo_accuracy", constraints={"accuracy": 0.995})
        >>> print(rule.note([{"name": "a", "accuracy": 0.9}, {"name": "b", "accuracy": 0.99}]))
        ... # doctest: +NORMALIZE_WHITESPACE
        No model meets test accuracy at least 0.995; all are ranked by accuracy on real photos
        as if there were no constraint.
        """
        if not self.constraints:
            return None
        missing = [str(r["name"]) for r in rows if not self.satisfied(r)]
        if not missing:
            return None
        if len(missing) == len(rows):
            return (
                f"No model meets {self._constraint_text()}; all are ranked by {CRITERIA[self.metric][1]} "
                f"as if there were no constraint."
            )
        one = len(missing) == 1
        return (
            f"{', '.join(missing)} {'does' if one else 'do'} not meet {self._constraint_text()} and "
            f"rank{'s' if one else ''} after the models that do."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (accepted by :meth:`parse`)."""
        return {
            "metric": self.metric,
            "tie_breakers": list(self.tie_breakers),
            "tolerance": self.tolerance,
            "constraints": dict(self.constraints),
        }

    # -- ranking -----------------------------------------------------------------------------
    def satisfied(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` meets every constraint (a missing value misses)."""
        return all(self._score(row, name) >= self._score({name: bound}, name)
                   for name, bound in self.constraints.items())  # fmt: skip

    def rank(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Names of ``rows`` (dicts with ``"name"`` and the criteria) from winner to last.

        Models that meet the constraints come first; within each group the order follows
        ``metric``, then the tie-breakers. Missing (``None``/NaN) values rank after every present
        value.
        """
        meets = [r for r in rows if self.satisfied(r)]
        misses = [r for r in rows if not self.satisfied(r)]
        return self._rank(meets) + self._rank(misses)

    def _rank(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        remaining = list(rows)
        order: list[str] = []
        while remaining:
            best = max(remaining, key=lambda r: self._score(r, self.metric))
            best_score = self._score(best, self.metric)
            tied = [r for r in remaining if self._score(r, self.metric) >= best_score - self.tolerance - 1e-12]
            pick = max(tied, key=lambda r: tuple(self._score(r, b) for b in self.tie_breakers))
            order.append(str(pick["name"]))
            remaining.remove(pick)
        return order

    @staticmethod
    def _score(row: Mapping[str, Any], criterion: str) -> float:
        """Higher is better; missing values get -inf."""
        value = row.get(criterion)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return -math.inf
        return float(value) if CRITERIA[criterion][0] else -float(value)


#: The rule for a comparison that evaluates real photos: the model that serves photos best,
#: among those that keep the test file at 99.5 % or better; then the smaller, then the faster.
PHOTOS_WINNER_RULE = WinnerRule(metric="photo_accuracy", constraints={"accuracy": 0.995})
