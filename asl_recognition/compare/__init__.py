"""Compare trained models on the held-out test set and write a report.

>>> from asl_recognition.compare import Comparator, WinnerRule
>>> WinnerRule(metric="macro_f1", tie_breakers=("latency",)).describe()
'highest test macro-F1; ties (exactly equal) broken by lower single-image latency'

Typical use::

    result = Comparator(load_dataset("test")).evaluate({"sklearn": m1, "cnn": m2})
    result.print_table()
    result.write_report("reports/comparison")   # md + json + png plots + one html file
"""

from __future__ import annotations

from asl_recognition.compare._comparator import REPORT_FORMATS, Comparator, LabelledImages
from asl_recognition.compare._report import write_report
from asl_recognition.compare._result import (
    ComparisonResult,
    GroupAccuracy,
    ModelEvaluation,
    PairwiseTest,
    PhotoEvaluation,
)
from asl_recognition.compare._robustness import CORRUPTIONS, DEFAULT_CORRUPTIONS, corrupt
from asl_recognition.compare._winner import CRITERIA, PHOTOS_WINNER_RULE, WinnerRule

__all__ = [
    "CORRUPTIONS",
    "CRITERIA",
    "DEFAULT_CORRUPTIONS",
    "PHOTOS_WINNER_RULE",
    "REPORT_FORMATS",
    "Comparator",
    "ComparisonResult",
    "GroupAccuracy",
    "LabelledImages",
    "ModelEvaluation",
    "PairwiseTest",
    "PhotoEvaluation",
    "WinnerRule",
    "corrupt",
    "write_report",
]
