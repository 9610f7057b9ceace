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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from asl_recognition.errors import InvalidParameterError

__all__ = ["CRITERIA", "WinnerRule"]

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


@dataclasses.dataclass(frozen=True)
class WinnerRule:
    """How the winner is chosen.

    Attributes:
        metric: the primary criterion (a key of :data:`CRITERIA`, usually higher-is-better).
        tie_breakers: criteria applied in order among models tied on ``metric``.
        tolerance: models whose ``metric`` is within this of the best are tied (0 = exact).
    """

    metric: str = "accuracy"
    tie_breakers: tuple[str, ...] = ("size", "latency")
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tie_breakers", tuple(self.tie_breakers))
        for name in (self.metric, *self.tie_breakers):
            if name not in CRITERIA:
                raise InvalidParameterError(
                    f"{name!r} is not a winner criterion; available: {', '.join(sorted(CRITERIA))}"
                )
        if not (isinstance(self.tolerance, (int, float)) and 0 <= self.tolerance < 1):
            raise InvalidParameterError(f"'tolerance' must be in [0, 1), got {self.tolerance!r}")

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
            unknown = set(value) - {"metric", "tie_breakers", "tolerance"}
            if unknown:
                raise InvalidParameterError(
                    f"winner_rule has no field {', '.join(map(repr, sorted(unknown)))}; "
                    "accepted: metric, tie_breakers, tolerance"
                )
            return cls(
                metric=str(value.get("metric", "accuracy")),
                tie_breakers=tuple(value.get("tie_breakers", ("size", "latency"))),
                tolerance=float(value.get("tolerance", 0.0)),
            )
        raise InvalidParameterError(f"winner_rule must be a name, a mapping or a WinnerRule; got {value!r}")

    def describe(self) -> str:
        """The rule in words, as printed in reports."""
        higher, words = CRITERIA[self.metric]
        text = f"{'highest' if higher else 'lowest'} {words}"
        if self.tie_breakers:
            tie = "exactly equal" if self.tolerance == 0 else f"within {self.tolerance:g}"
            steps = [
                f"{'larger' if CRITERIA[b][0] else 'smaller' if b == 'size' else 'lower'} {CRITERIA[b][1]}"
                for b in self.tie_breakers
            ]
            text += f"; ties ({tie}) broken by " + ", then ".join(steps)
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (accepted by :meth:`parse`)."""
        return {
            "metric": self.metric,
            "tie_breakers": list(self.tie_breakers),
            "tolerance": self.tolerance,
        }

    def rank(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Names of ``rows`` (dicts with ``"name"`` and the criteria) from winner to last.

        Missing (``None``/NaN) values rank after every present value.
        """
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
