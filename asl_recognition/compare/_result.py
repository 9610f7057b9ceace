"""The result types of a comparison and their JSON form.

All numbers are plain ``int``/``float`` (never NumPy scalars); missing values are ``None``
(NaN never reaches JSON). ``ComparisonResult.from_json(result.to_json())`` round-trips.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from asl_recognition.compare._winner import WinnerRule
from asl_recognition.errors import InvalidParameterError

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["ComparisonResult", "GroupAccuracy", "ModelEvaluation", "PairwiseTest", "PhotoEvaluation"]

Interval = tuple[float | None, float | None]


def _clean(value: Any) -> Any:
    """Plain JSON types: NaN -> None, tuples -> lists, NumPy scalars -> Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _interval(value: Any) -> Interval:
    if value is None:
        return (None, None)
    lo, hi = value
    return (lo, hi)


class GroupAccuracy(TypedDict):
    """Accuracy on the photos of one person (or one source).

    ``ci`` is the 95% Wilson score interval; ``hands_found`` counts the photos in which the hand
    observation found a hand (the same for every model).
    """

    n: int
    accuracy: float
    ci: Interval
    hands_found: int


def _groups(data: Any) -> dict[str, GroupAccuracy]:
    """JSON -> ``{group: GroupAccuracy}`` (old reports without the key -> empty)."""
    if not data:
        return {}
    return {
        str(name): GroupAccuracy(
            n=int(g["n"]),
            accuracy=float(g["accuracy"]),
            ci=_interval(g.get("ci")),
            hands_found=int(g.get("hands_found", 0)),
        )
        for name, g in dict(data).items()
    }


@dataclasses.dataclass
class PhotoEvaluation:
    """Accuracy of one model on a folder of labelled real photos.

    Attributes:
        n: photos evaluated.
        accuracy: top-1 accuracy over every photo, whether or not a hand was found in it.
        accuracy_ci: its 95% Wilson score interval.
        per_letter_recall: recall per letter (``None`` for letters without photos).
        confusion: 24x24 counts (rows: true letter, columns: prediction).
        per_person: accuracy per person (``SOURCES.tsv``'s ``person`` column).
        per_source: accuracy per source (``SOURCES.tsv``'s ``source`` column).
        hands_found: photos in which a hand was found (``None`` in old reports).
        reads_photos: whether the model read the photo's hand observation (landmarks) rather
            than its 28x28 crop (``None`` in old reports).
    """

    n: int
    accuracy: float
    accuracy_ci: Interval
    per_letter_recall: dict[str, float | None]
    confusion: list[list[int]]
    per_person: dict[str, GroupAccuracy] = dataclasses.field(default_factory=dict)
    per_source: dict[str, GroupAccuracy] = dataclasses.field(default_factory=dict)
    hands_found: int | None = None
    reads_photos: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhotoEvaluation:
        """Inverse of ``dataclasses.asdict`` (reports written before a field existed read as
        empty/``None``)."""
        found = data.get("hands_found")
        reads = data.get("reads_photos")
        return cls(
            n=int(data["n"]),
            accuracy=float(data["accuracy"]),
            accuracy_ci=_interval(data["accuracy_ci"]),
            per_letter_recall=dict(data["per_letter_recall"]),
            confusion=[list(map(int, row)) for row in data["confusion"]],
            per_person=_groups(data.get("per_person")),
            per_source=_groups(data.get("per_source")),
            hands_found=None if found is None else int(found),
            reads_photos=None if reads is None else bool(reads),
        )


@dataclasses.dataclass
class ModelEvaluation:
    """Everything measured about one model.

    Accuracy intervals: ``accuracy_ci`` is the 95% Wilson score interval; the ``*_bootstrap_ci``
    fields are seeded percentile bootstrap intervals (``None`` when bootstrapping is off).
    ``confusion`` is 24x24 over the valid letters (rows: true letter, columns: prediction).
    ``validation_gap`` is validation accuracy minus test accuracy (positive = optimistic
    validation). ``robustness`` maps each corruption to the accuracy at each severity level,
    measured on ``robustness_n`` images (``robustness_clean_accuracy`` is the uncorrupted
    accuracy on the same images). Costs are described in ``asl_recognition.compare._costs``.
    """

    name: str
    backend: str
    n_test: int
    accuracy: float
    accuracy_ci: Interval
    macro_f1: float
    per_letter_recall: dict[str, float | None]
    confusion: list[list[int]]
    size_bytes: int
    latency_single_ms: float
    latency_batch_ms: float
    batch_size: int
    throughput_ips: float
    predict_all_s: float
    peak_python_bytes: int
    rss_delta_bytes: int | None = None
    accuracy_bootstrap_ci: Interval | None = None
    macro_f1_bootstrap_ci: Interval | None = None
    validation_accuracy: float | None = None
    validation_gap: float | None = None
    training_time_s: float | None = None
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    robustness: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    robustness_n: int = 0
    robustness_clean_accuracy: float | None = None
    mean_corruption_accuracy: float | None = None
    photos: PhotoEvaluation | None = None
    trials: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def criteria(self) -> dict[str, Any]:
        """The values :class:`WinnerRule` ranks on."""
        return {
            "name": self.name,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "robustness": self.mean_corruption_accuracy,
            "photo_accuracy": self.photos.accuracy if self.photos else None,
            "size": self.size_bytes,
            "latency": self.latency_single_ms,
            "batch_latency": self.latency_batch_ms,
            "training_time": self.training_time_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelEvaluation:
        """Inverse of ``dataclasses.asdict`` after JSON (restores tuples and nested types)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in fields}
        for key in ("accuracy_ci",):
            kwargs[key] = _interval(kwargs.get(key))
        for key in ("accuracy_bootstrap_ci", "macro_f1_bootstrap_ci"):
            if kwargs.get(key) is not None:
                kwargs[key] = _interval(kwargs[key])
        if kwargs.get("photos") is not None:
            kwargs["photos"] = PhotoEvaluation.from_dict(kwargs["photos"])
        return cls(**kwargs)


@dataclasses.dataclass
class PairwiseTest:
    """McNemar's exact test between two models on the same test images.

    ``a_only``/``b_only``: images only model A/B classifies correctly. ``p_holm`` is the
    Holm-Bonferroni adjusted p-value over all pairs of the comparison.
    """

    model_a: str
    model_b: str
    a_only: int
    b_only: int
    p_value: float
    p_holm: float

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the difference is significant at ``alpha`` (raw p-value)."""
        return self.p_value < alpha


@dataclasses.dataclass
class ComparisonResult:
    """What :meth:`Comparator.evaluate` returns.

    Attributes:
        dataset: name of the test set.
        n_test: number of test images.
        letters: the 24 letters, in the order of confusion-matrix rows/columns and recalls.
        models: one :class:`ModelEvaluation` per model, in the order they were given.
        ranking: model names from winner to last according to ``winner_rule``.
        winner_rule: the rule (see :class:`WinnerRule`).
        pairwise: McNemar tests for every pair of models.
        settings: the options of the run (bootstrap samples, seed, corruptions, ...).
        created_at: ISO-8601 UTC time of the evaluation.
    """

    dataset: str
    n_test: int
    letters: list[str]
    models: list[ModelEvaluation]
    ranking: list[str]
    winner_rule: WinnerRule
    pairwise: list[PairwiseTest] = dataclasses.field(default_factory=list)
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: str = ""

    # -- derived ---------------------------------------------------------------------------
    @property
    def winner(self) -> str:
        """Name of the best model under :attr:`winner_rule`."""
        return self.ranking[0]

    @property
    def runner_up(self) -> str | None:
        """Name of the second-ranked model, if there is one."""
        return self.ranking[1] if len(self.ranking) > 1 else None

    @property
    def winner_note(self) -> str | None:
        """What the winner rule's constraints did to the ranking, in words (None: nothing)."""
        return self.winner_rule.note([m.criteria() for m in self.models])

    @property
    def alpha(self) -> float:
        """Significance level used in the report."""
        return float(self.settings.get("alpha", 0.05))

    def model(self, name: str) -> ModelEvaluation:
        """The evaluation of model ``name``."""
        for m in self.models:
            if m.name == name:
                return m
        raise InvalidParameterError(
            f"{name!r} is not a model of this comparison; models: {', '.join(m.name for m in self.models)}"
        )

    def pair(self, a: str, b: str) -> PairwiseTest | None:
        """The McNemar test between ``a`` and ``b`` (oriented so ``model_a == a``)."""
        for p in self.pairwise:
            if (p.model_a, p.model_b) == (a, b):
                return p
            if (p.model_a, p.model_b) == (b, a):
                return dataclasses.replace(p, model_a=a, model_b=b, a_only=p.b_only, b_only=p.a_only)
        return None

    @property
    def winner_significant(self) -> bool | None:
        """Whether the winner differs significantly (McNemar, raw p) from the runner-up."""
        runner = self.runner_up
        test = self.pair(self.winner, runner) if runner else None
        return None if test is None else test.significant(self.alpha)

    def significance_note(self) -> str:
        """One sentence on whether the winner's lead over the runner-up is significant."""
        runner = self.runner_up
        test = self.pair(self.winner, runner) if runner else None
        if runner is None or test is None:
            return f"{self.winner} is the only model; no significance test applies."
        counts = f"McNemar exact test: {test.a_only} vs {test.b_only} discordant images, p = {test.p_value:.3g}"
        if test.significant(self.alpha):
            return f"{self.winner} differs significantly from the runner-up {runner} ({counts} < {self.alpha:g})."
        return (
            f"{self.winner} is NOT significantly better than the runner-up {runner} "
            f"({counts} >= {self.alpha:g}); the ranking between them may be chance."
        )

    @property
    def table(self) -> list[dict[str, Any]]:
        """One summary row per model (in ranking order), as plain dicts.

        Keys: ``rank``, ``model``, ``backend``, ``accuracy``, ``accuracy_ci_low``,
        ``accuracy_ci_high``, ``macro_f1``, ``validation_accuracy``, ``validation_gap``,
        ``mean_corruption_accuracy``, ``photo_accuracy``, ``size_mb``, ``latency_single_ms``,
        ``latency_batch_ms``, ``throughput_ips``, ``training_time_s``, ``winner``.
        """
        rows = []
        for rank, name in enumerate(self.ranking, start=1):
            m = self.model(name)
            rows.append(
                {
                    "rank": rank,
                    "model": m.name,
                    "backend": m.backend,
                    "accuracy": m.accuracy,
                    "accuracy_ci_low": m.accuracy_ci[0],
                    "accuracy_ci_high": m.accuracy_ci[1],
                    "macro_f1": m.macro_f1,
                    "validation_accuracy": m.validation_accuracy,
                    "validation_gap": m.validation_gap,
                    "mean_corruption_accuracy": m.mean_corruption_accuracy,
                    "photo_accuracy": m.photos.accuracy if m.photos else None,
                    "size_mb": m.size_bytes / 1e6,
                    "latency_single_ms": m.latency_single_ms,
                    "latency_batch_ms": m.latency_batch_ms,
                    "throughput_ips": m.throughput_ips,
                    "training_time_s": m.training_time_s,
                    "winner": name == self.winner,
                }
            )
        return rows

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (plain types; ``winner`` and the rule's words included)."""
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "n_test": self.n_test,
            "letters": self.letters,
            "winner": self.winner,
            "winner_rule": self.winner_rule.to_dict(),
            "winner_rule_text": self.winner_rule.describe(),
            "winner_rule_note": self.winner_note,
            "winner_significant": self.winner_significant,
            "significance_note": self.significance_note(),
            "ranking": self.ranking,
            "table": self.table,
            "models": [dataclasses.asdict(m) for m in self.models],
            "pairwise": [dataclasses.asdict(p) for p in self.pairwise],
            "settings": self.settings,
            "created_at": self.created_at,
        }
        cleaned: dict[str, Any] = _clean(out)
        return cleaned

    def to_json(self, *, indent: int | None = 2) -> str:
        """The result as JSON text (strict: no NaN)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComparisonResult:
        """Rebuild a result from :meth:`to_dict` output."""
        try:
            return cls(
                dataset=str(data["dataset"]),
                n_test=int(data["n_test"]),
                letters=list(data["letters"]),
                models=[ModelEvaluation.from_dict(m) for m in data["models"]],
                ranking=list(data["ranking"]),
                winner_rule=WinnerRule.parse(data["winner_rule"]),
                pairwise=[PairwiseTest(**p) for p in data.get("pairwise", [])],
                settings=dict(data.get("settings", {})),
                created_at=str(data.get("created_at", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterError(f"not a comparison result: {exc!r}") from exc

    @classmethod
    def from_json(cls, text: str | os.PathLike[str]) -> ComparisonResult:
        """Rebuild a result from :meth:`to_json` text or from a path to such a file."""
        if isinstance(text, os.PathLike) or (isinstance(text, str) and not text.lstrip().startswith("{")):
            text = Path(text).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(f"comparison result is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    # -- rendering (implemented in _report) ------------------------------------------------
    def to_markdown(self) -> str:
        """The report as Markdown (tables, significance, robustness, photos, costs)."""
        from asl_recognition.compare._report import render_markdown

        return render_markdown(self)

    def to_rich_table(self) -> Table:
        """The summary table as a :class:`rich.table.Table` (for terminals)."""
        from asl_recognition.compare._report import rich_table

        return rich_table(self)

    def print_table(self, console: Any = None) -> None:
        """Print the summary table with rich (to ``console``, or standard output)."""
        from rich.console import Console

        if console is None:
            console = Console()
            if not console.is_terminal:  # logs and pipes: don't squeeze the table into 80 columns
                console = Console(width=200)
        console.print(self.to_rich_table())

    def write_report(
        self,
        directory: str | os.PathLike[str],
        *,
        formats: tuple[str, ...] | list[str] | None = None,
    ) -> Path:
        """Write the report directory atomically (see :func:`.write_report`)."""
        from asl_recognition.compare._report import write_report

        return write_report(self, directory, formats=formats)
