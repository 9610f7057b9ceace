"""The winner rule: primary criterion, tolerance and tie-breaking."""

from __future__ import annotations

import pytest

from asl_recognition.compare import PHOTOS_WINNER_RULE, WinnerRule
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
        ({"constraints": {"acc": 0.9}}, "'acc' is not a winner criterion"),
        ({"constraints": {"accuracy": "high"}}, "constraint 'accuracy' must be a finite number, got 'high'"),
        ({"constraints": {"accuracy": float("nan")}}, "constraint 'accuracy' must be a finite number"),
        ({"constraints": [("accuracy", 0.9)]}, "'constraints' must be a mapping"),
    ],
)
def test_bad_rules_are_rejected(value: object, message: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        WinnerRule.parse(value)  # type: ignore[arg-type]
    assert message in str(info.value)


def _photo_row(
    name: str, photo: float | None, test: float | None, size: int = 1, latency: float = 1.0
) -> dict[str, object]:
    return {"name": name, "photo_accuracy": photo, "accuracy": test, "size": size, "latency": latency}


def test_a_model_below_the_test_constraint_loses_to_one_that_meets_it() -> None:
    rows = [_photo_row("photo-best", 0.90, 0.990), _photo_row("meets", 0.70, 0.996), _photo_row("meets-less", 0.6, 1.0)]
    assert PHOTOS_WINNER_RULE.rank(rows) == ["meets", "meets-less", "photo-best"]
    assert PHOTOS_WINNER_RULE.note(rows) == (
        "photo-best does not meet test accuracy at least 0.995 and ranks after the models that do."
    )
    assert WinnerRule(metric="photo_accuracy").rank(rows)[0] == "photo-best"  # without the constraint
    assert PHOTOS_WINNER_RULE.note([r for r in rows if r["name"] != "photo-best"]) is None


def test_with_no_model_meeting_the_constraint_the_primary_metric_ranks_and_the_note_says_so() -> None:
    rows = [_photo_row("a", 0.5, 0.98), _photo_row("b", 0.8, 0.99), _photo_row("c", None, 0.999)]
    assert PHOTOS_WINNER_RULE.rank(rows) == ["c", "b", "a"]  # c meets it: it wins without photo numbers
    rows = rows[:2]
    assert PHOTOS_WINNER_RULE.rank(rows) == ["b", "a"]
    assert PHOTOS_WINNER_RULE.note(rows) == (
        "No model meets test accuracy at least 0.995; all are ranked by accuracy on real photos "
        "as if there were no constraint."
    )


def test_constraint_ties_then_size_and_latency() -> None:
    rows = [_photo_row("big", 0.8, 0.996, size=100), _photo_row("small", 0.8, 0.997, size=10),
            _photo_row("small-slow", 0.8, 0.999, size=10, latency=3.0)]  # fmt: skip
    assert PHOTOS_WINNER_RULE.rank(rows) == ["small", "small-slow", "big"]


def test_a_missing_value_misses_the_constraint_and_bounds_of_lower_is_better_criteria_are_maxima() -> None:
    rule = WinnerRule(constraints={"size": 10e6, "latency": 30})
    rows = [_row("huge", 0.99, 50_000_000, 1.0), _row("slow", 0.98, 1, 40.0), _row("fits", 0.9, 9_000_000, 29.0),
            _row("unmeasured", 0.999, 1, None)]  # type: ignore[arg-type]  # fmt: skip
    assert rule.rank(rows) == ["fits", "unmeasured", "huge", "slow"]
    assert rule.satisfied(rows[2]) and not rule.satisfied(rows[3])
    assert "size on disk at most 10 MB and single-image latency at most 30 ms" in rule.describe()
    assert "them" in rule.describe()


def test_constraints_in_words_in_yaml_form_and_hashable() -> None:
    assert PHOTOS_WINNER_RULE.describe().startswith(
        "highest accuracy on real photos among models with test accuracy at least 0.995 "
        "(models that miss it rank after those that meet it); ties (exactly equal) broken by smaller size on disk"
    )
    assert WinnerRule.parse(PHOTOS_WINNER_RULE.to_dict()) == PHOTOS_WINNER_RULE
    assert WinnerRule.parse({"metric": "accuracy", "constraints": None}) == WinnerRule()
    assert "among" not in WinnerRule().describe()
    assert PHOTOS_WINNER_RULE.to_dict()["constraints"] == {"accuracy": 0.995}
    assert len({PHOTOS_WINNER_RULE, WinnerRule.parse(PHOTOS_WINNER_RULE.to_dict())}) == 1
    old = {"metric": "accuracy", "tie_breakers": ["size"], "tolerance": 0.0}  # a report from before constraints
    assert WinnerRule.parse(old).constraints == {}
