"""Paired significance tests and seeded bootstrap confidence intervals.

McNemar's exact test compares two models on the same images through their discordant pairs:
``b`` images only model A gets right and ``c`` images only model B gets right. Under the null
hypothesis of equal accuracy ``b ~ Binomial(b + c, 0.5)``.

>>> import numpy as np
>>> a = np.array([True] * 10 + [False] * 2); b = np.array([False] * 10 + [True] * 2)
>>> round(mcnemar_exact(a, b).p_value, 4)
0.0386
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
from scipy.stats import binomtest

from asl_recognition.compare._metrics import _INDEX, f1_from_confusion
from asl_recognition.data.letters import NUM_CLASSES

__all__ = [
    "McNemar",
    "bootstrap_indices",
    "bootstrap_metrics",
    "holm",
    "mcnemar_exact",
    "percentile_ci",
]

BoolArray = npt.NDArray[np.bool_]


@dataclasses.dataclass(frozen=True)
class McNemar:
    """Result of McNemar's exact test: discordant counts and the two-sided p-value."""

    a_only: int
    b_only: int
    p_value: float


def mcnemar_exact(correct_a: npt.ArrayLike, correct_b: npt.ArrayLike) -> McNemar:
    """McNemar's exact (binomial) test on per-image correctness of two models."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    a_only = int((a & ~b).sum())
    b_only = int((~a & b).sum())
    n = a_only + b_only
    p = 1.0 if n == 0 else float(binomtest(a_only, n, 0.5, alternative="two-sided").pvalue)
    return McNemar(a_only, b_only, min(1.0, p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def bootstrap_indices(n: int, samples: int, *, seed: int, chunk: int = 200) -> Iterator[npt.NDArray[np.int32]]:
    """Yield ``(chunk, n)`` blocks of resampling indices; the same seed gives the same blocks.

    Every model is bootstrapped with the same resamples, so the intervals are paired.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        yield rng.integers(0, n, size=(size, n), dtype=np.int32)
        done += size


def bootstrap_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, samples: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Bootstrap distributions ``(accuracy, macro_f1)``, each of length ``samples``.

    Vectorised: confusion matrices of a block of resamples are built with one ``bincount``.
    """
    t = _INDEX[np.asarray(y_true, dtype=np.int64)]
    p = _INDEX[np.asarray(y_pred, dtype=np.int64)]
    k = NUM_CLASSES
    cell = t * k + p
    correct = t == p
    accs: list[npt.NDArray[np.float64]] = []
    f1s: list[npt.NDArray[np.float64]] = []
    for idx in bootstrap_indices(len(t), samples, seed=seed):
        accs.append(correct[idx].mean(axis=1))
        offsets = (np.arange(len(idx), dtype=np.int64) * k * k)[:, None]
        counts = np.bincount((cell[idx] + offsets).ravel(), minlength=len(idx) * k * k)
        f1s.append(np.asarray(f1_from_confusion(counts.reshape(len(idx), k, k))))
    if not accs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(accs), np.concatenate(f1s)


def percentile_ci(values: npt.NDArray[np.float64], *, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of a bootstrap distribution (``(nan, nan)`` if empty)."""
    if values.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return (float(lo), float(hi))
