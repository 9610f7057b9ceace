"""The winner rule: primary criterion, tolerance and tie-breaking."""

from __future__ import annotations

import pytest

from asl_recognition.compare import WinnerRule
from asl_recognition.errors import InvalidParameterError


def _row(name: str, accuracy: float | None, size: int, latency: float, **extra: float) -> dict[str, object]:
    return {"name": name, "accuracy": accuracy, "size": size, "latency": latency, **extra}


def test_highest_accuracy_wins() -> None:
    rows = [_row("a", 0.90, 1, 1.0), _row("b", 0.95, 100, 9.0), _row("c", 0.80, 1, 0.1)]
    assert WinnerRule().rank(rows) == ["b", "a", "c"]


def test_ties_broken_by_size_then_latency() -> None:
    rows = [
        _row("big", 0.9, 100, 1.0),
        _row("small-slow", 0.9, 10, 5.0),
        _row("small-fast", 0.9, 10, 2.0),
    ]
    assert WinnerRule().rank(rows) == ["small-fast", "small-slow", "big"]
    assert WinnerRule(tie_breakers=("latency",)).rank(rows) == ["big", "small-fast", "small-slow"]


def test_tolerance_makes_near_ties() -> None:
    rows = [_row("accurate-big", 0.951, 100, 1.0), _row("small", 0.950, 1, 1.0)]
    assert WinnerRule().rank(rows)[0] == "accurate-big"
    assert WinnerRule(tolerance=0.002).rank(rows)[0] == "small"
    assert "within 0.002" in WinnerRule(tolerance=0.002).describe()


def test_missing_values_rank_last() -> None:
    rows = [_row("none", None, 1, 1.0), _row("some", 0.1, 1, 1.0)]
    assert WinnerRule().rank(rows) == ["some", "none"]


def test_other_primary_metric_and_words() -> None:
    rows = [_row("a", 0.9, 1, 1.0, robustness=0.5), _row("b", 0.8, 1, 1.0, robustness=0.7)]
    rule = WinnerRule.parse({"metric": "robustness", "tie_breakers": ["latency"]})
    assert rule.rank(rows) == ["b", "a"]
    assert rule.describe() == (
        "highest mean accuracy under corruptions; ties (exactly equal) broken by lower single-image latency"
    )
    assert WinnerRule.parse(rule.to_dict()) == rule
    assert WinnerRule.parse("macro_f1").metric == "macro_f1"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("acuracy", "'acuracy' is not a winner criterion; available: accuracy, batch_latency"),
        ({"metric": "accuracy", "tiebreak": []}, "winner_rule has no field 'tiebreak'"),
        ({"tolerance": 2}, "'tolerance' must be in [0, 1)"),
        (3, "winner_rule must be a name, a mapping or a WinnerRule"),
    ],
)
def test_bad_rules_are_rejected(value: object, message: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        WinnerRule.parse(value)  # type: ignore[arg-type]
    assert message in str(info.value)
