"""Metrics and statistics of the comparator against scikit-learn / scipy on known inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from asl_recognition.compare._metrics import (
    confusion_matrix,
    macro_f1,
    per_label_recall,
    wilson_interval,
)
from asl_recognition.compare._stats import (
    bootstrap_indices,
    bootstrap_metrics,
    holm,
    mcnemar_exact,
    percentile_ci,
)
from asl_recognition.data.letters import VALID_LABELS


def _random_predictions(
    seed: int, n: int = 500, labels: tuple[int, ...] = VALID_LABELS
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(labels, size=n)
    p = np.where(rng.random(n) < 0.7, y, rng.choice(labels, size=n))
    return y, p


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_recall_f1_match_sklearn(seed: int) -> None:
    # a subset of letters, so absent letters (no support, never predicted) are exercised too
    y, p = _random_predictions(seed, labels=(0, 1, 2, 5, 10, 24))
    cm = confusion_matrix(y, p)
    assert cm.shape == (24, 24)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, p, labels=list(VALID_LABELS)))
    assert macro_f1(y, p) == pytest.approx(skm.f1_score(y, p, average="macro"))
    recall = per_label_recall(cm)
    sk_recall = skm.recall_score(y, p, labels=list(VALID_LABELS), average=None, zero_division=0)
    for i, label in enumerate(VALID_LABELS):
        if label in set(y.tolist()):
            assert recall[i] == pytest.approx(sk_recall[i])
        else:
            assert recall[i] is None


def test_f1_counts_letters_only_predicted() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0, 2, 1, 1])  # C is predicted but never true: it counts with F1 = 0
    assert macro_f1(y, p) == pytest.approx(skm.f1_score(y, p, average="macro"))


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(90, 100)
    assert (low, high) == pytest.approx((0.8256, 0.9448), abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    lo99, hi99 = wilson_interval(90, 100, confidence=0.99)
    assert lo99 < low
    assert hi99 > high


def test_mcnemar_on_constructed_discordances() -> None:
    both = np.ones(50, dtype=bool)
    a = np.concatenate([both, np.ones(10, bool), np.zeros(2, bool), np.zeros(5, bool)])
    b = np.concatenate([both, np.zeros(10, bool), np.ones(2, bool), np.zeros(5, bool)])
    result = mcnemar_exact(a, b)
    assert (result.a_only, result.b_only) == (10, 2)
    # two-sided exact binomial: 2 * P(X <= 2 | n=12, p=0.5) = 2 * (1 + 12 + 66) / 4096
    assert result.p_value == pytest.approx(2 * 79 / 4096)
    assert mcnemar_exact(b, a).p_value == pytest.approx(result.p_value)
    assert mcnemar_exact(a, a).p_value == 1.0
    balanced = mcnemar_exact(np.r_[np.ones(8, bool), np.zeros(8, bool)], np.r_[np.zeros(8, bool), np.ones(8, bool)])
    assert balanced.p_value == pytest.approx(1.0)


def test_holm_adjustment() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []


def test_bootstrap_is_seeded_and_matches_sklearn_on_a_resample() -> None:
    y, p = _random_predictions(3, n=300)
    accs, f1s = bootstrap_metrics(y, p, samples=250, seed=7)
    accs2, f1s2 = bootstrap_metrics(y, p, samples=250, seed=7)
    np.testing.assert_array_equal(accs, accs2)
    np.testing.assert_array_equal(f1s, f1s2)
    assert not np.array_equal(accs, bootstrap_metrics(y, p, samples=250, seed=8)[0])
    # the first resample, recomputed with scikit-learn (the chunk boundary at 200 is crossed too)
    blocks = list(bootstrap_indices(len(y), 250, seed=7))
    assert [len(b) for b in blocks] == [200, 50]
    for k, idx in ((0, blocks[0][0]), (210, blocks[1][10])):
        assert accs[k] == pytest.approx(skm.accuracy_score(y[idx], p[idx]))
        assert f1s[k] == pytest.approx(skm.f1_score(y[idx], p[idx], average="macro"))
    lo, hi = percentile_ci(accs)
    assert lo < float((y == p).mean()) < hi
    assert all(math.isnan(x) for x in percentile_ci(np.zeros(0)))
