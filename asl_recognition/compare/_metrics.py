"""Classification metrics computed from label vectors over the 24 valid letters.

Everything here works on integer label ids (0=A ... 24=Y) and is computed once from the
predictions of a model, so several metrics share one ``predict_proba`` call.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0, 1, 1, 1])
>>> round(macro_f1(y, p), 4)
0.7333
>>> low, high = wilson_interval(90, 100)
>>> round(low, 3), round(high, 3)
(0.826, 0.945)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from asl_recognition.data.letters import VALID_LABELS

__all__ = [
    "confusion_matrix",
    "f1_from_confusion",
    "macro_f1",
    "per_label_recall",
    "wilson_interval",
]

_INDEX = np.full(26, -1, dtype=np.int64)
_INDEX[list(VALID_LABELS)] = np.arange(len(VALID_LABELS))

IntArray = npt.NDArray[np.int64]


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (``(nan, nan)`` when ``n == 0``)."""
    if n <= 0:
        return (math.nan, math.nan)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def confusion_matrix(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> IntArray:
    """24x24 counts over :data:`VALID_LABELS`; rows are true letters, columns predictions."""
    t = _INDEX[np.asarray(y_true, dtype=np.int64)]
    p = _INDEX[np.asarray(y_pred, dtype=np.int64)]
    k = len(VALID_LABELS)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def f1_from_confusion(cm: npt.NDArray[np.integer]) -> float:
    """Macro-F1 as scikit-learn computes it: mean over letters seen in truth or predictions.

    ``cm`` may carry leading batch dimensions (``(..., K, K)``); the result is then an array.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = denom > 0
    counted = present.sum(axis=-1)
    out = np.divide(f1.sum(axis=-1), counted, out=np.zeros_like(f1.sum(axis=-1)), where=counted > 0)
    return out if out.ndim else float(out)  # type: ignore[return-value,unused-ignore]


def macro_f1(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Macro-averaged F1 (equal to ``sklearn.metrics.f1_score(average="macro")``)."""
    return float(f1_from_confusion(confusion_matrix(y_true, y_pred)))


def per_label_recall(cm: npt.NDArray[np.integer]) -> list[float | None]:
    """Recall of each valid letter from a 24x24 confusion matrix (``None``: not in the test set)."""
    support = cm.sum(axis=1)
    return [float(cm[i, i] / s) if s else None for i, s in enumerate(support)]
