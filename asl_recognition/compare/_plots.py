"""PNG plots of a :class:`ComparisonResult` (matplotlib, no pyplot: thread-safe, Agg output).

:func:`make_plots` returns ``{file name: (caption, PNG bytes)}``; the report writer stores and
embeds them.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from asl_recognition.registry import import_string

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from asl_recognition.compare._result import ComparisonResult

__all__ = ["make_plots", "slug", "unique_slugs"]

Plot = tuple[str, bytes]


def slug(name: str) -> str:
    """A file-name-safe version of a model name.

    >>> slug("CNN (tuned)/v2")
    'cnn-tuned-v2'
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"


def unique_slugs(names: list[str]) -> dict[str, str]:
    """:func:`slug` of each name, made unique with a numeric suffix.

    >>> unique_slugs(["a b", "a-b"])
    {'a b': 'a-b', 'a-b': 'a-b-2'}
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = candidate = slug(name)
        k = 2
        while candidate in taken:
            candidate = f"{base}-{k}"
            k += 1
        taken.add(candidate)
        out[name] = candidate
    return out


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _confusion(title: str, confusion: list[list[int]], letters: list[str]) -> bytes:
    cm = np.asarray(confusion, dtype=np.float64)
    support = cm.sum(axis=1, keepdims=True)
    rates = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    fig = _figure(8.5, 7.5)
    ax = fig.subplots()
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(letters))
    ax.set_xticks(ticks, letters)
    ax.set_yticks(ticks, letters)
    ax.set_xlabel("predicted letter")
    ax.set_ylabel("true letter")
    ax.set_title(title)
    for i, j in zip(*np.nonzero(cm), strict=True):
        if rates[i, j] >= 0.01:
            ax.text(
                j,
                i,
                f"{100 * rates[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if rates[i, j] > 0.5 else "black",
            )
    fig.colorbar(image, ax=ax, label="share of the true letter's images", shrink=0.8)
    return _png(fig)


def _recall(result: ComparisonResult) -> bytes:
    letters = result.letters
    fig = _figure(12, 4.5)
    ax = fig.subplots()
    width = 0.8 / max(1, len(result.models))
    x = np.arange(len(letters))
    for k, m in enumerate(result.models):
        values = [m.per_letter_recall.get(ch) for ch in letters]
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x + (k - (len(result.models) - 1) / 2) * width, heights, width, label=m.name)
    ax.set_xticks(x, letters)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("letter")
    ax.set_ylabel("recall (share of the letter's test images recognised)")
    ax.set_title(f"Per-letter recall on {result.dataset}")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _tradeoff(result: ComparisonResult, key: str, xlabel: str, title: str) -> bytes:
    fig = _figure(7, 5)
    ax = fig.subplots()
    for m in result.models:
        x = m.size_bytes / 1e6 if key == "size" else m.latency_single_ms
        lo, hi = m.accuracy_ci
        err = [
            [m.accuracy - (lo if lo is not None else m.accuracy)],
            [(hi if hi is not None else m.accuracy) - m.accuracy],
        ]
        winner = m.name == result.winner
        ax.errorbar(
            [x],
            [m.accuracy],
            yerr=err,
            fmt="*" if winner else "o",
            markersize=14 if winner else 8,
            capsize=4,
            label=f"{m.name}{' (winner)' if winner else ''}",
        )
        ax.annotate(m.name, (x, m.accuracy), textcoords="offset points", xytext=(6, 6), fontsize=9)
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (95% Wilson interval)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def _robustness(result: ComparisonResult) -> bytes | None:
    names = list(result.models[0].robustness) if result.models else []
    if not names:
        return None
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(3.4 * cols, 3.0 * rows)
    axes: Any = np.atleast_1d(fig.subplots(rows, cols, sharey=True)).ravel()
    params: dict[str, list[float]] = result.settings.get("corruptions", {})
    for ax, cname in zip(axes, names, strict=False):
        for m in result.models:
            values = [m.robustness_clean_accuracy, *m.robustness.get(cname, [])]
            ax.plot(
                range(len(values)),
                [np.nan if v is None else v for v in values],
                marker="o",
                label=m.name,
            )
        levels = params.get(cname, [])
        ax.set_xticks(range(len(levels) + 1), ["clean", *(f"{i + 1}\n({p:g})" for i, p in enumerate(levels))])
        ax.set_title(cname)
        ax.set_xlabel("severity (parameter)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    axes[0].set_ylabel("accuracy")
    for r in range(rows):
        axes[r * cols].set_ylabel("accuracy")
    axes[0].legend(fontsize=7)
    counts = sorted({m.robustness_n for m in result.models if m.robustness})
    n = str(counts[-1]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    fig.suptitle(f"Accuracy under corruptions ({n} test images)")
    return _png(fig)


def _gap(result: ComparisonResult) -> bytes | None:
    models = [m for m in result.models if m.validation_accuracy is not None]
    if not models:
        return None
    fig = _figure(max(5, 1.6 * len(result.models) + 2), 4.5)
    ax: Axes = fig.subplots()
    x = np.arange(len(result.models))
    val = [np.nan if m.validation_accuracy is None else m.validation_accuracy for m in result.models]
    ax.bar(x - 0.2, val, 0.4, label="validation accuracy")
    ax.bar(x + 0.2, [m.accuracy for m in result.models], 0.4, label="test accuracy")
    for i, m in enumerate(result.models):
        if m.validation_gap is not None:
            ax.annotate(
                f"gap {100 * m.validation_gap:+.1f} pts",
                (i, max(val[i], m.accuracy)),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=9,
            )
    ax.set_xticks(x, [m.name for m in result.models])
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("model")
    ax.set_ylabel("accuracy")
    ax.set_title("Validation vs test accuracy (gap = validation - test)")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _trials(name: str, trials: list[dict[str, Any]]) -> bytes | None:
    points: list[tuple[int, float, str]] = [
        (int(t["number"]), float(t["value"]), str(t.get("state")))
        for t in trials
        if isinstance(t.get("number"), int) and isinstance(t.get("value"), (int, float))
    ]
    if not points:
        return None
    fig = _figure(7, 4)
    ax = fig.subplots()
    for state, marker in (("complete", "o"), ("pruned", "x"), ("failed", "v"), ("running", ".")):
        sel = [(n, v) for n, v, s in points if s == state]
        if sel:
            ax.scatter([n for n, _ in sel], [v for _, v in sel], marker=marker, label=state)
    best = np.maximum.accumulate([v for _, v, _ in sorted(points, key=lambda p: p[0])])
    ax.plot(sorted(n for n, _, _ in points), best, color="grey", linestyle="--", label="best so far")
    ax.set_xlabel("trial number")
    ax.set_ylabel("trial value (validation metric)")
    ax.set_title(f"Sweep trials of {name}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def make_plots(result: ComparisonResult) -> dict[str, Plot]:
    """Render every plot the result supports: ``{file name: (caption, PNG bytes)}``.

    Raises:
        MissingDependencyError: matplotlib (the ``report`` extra) is not installed.
    """
    import_string("matplotlib.figure:Figure", extra="report", what="the report's plots (formats png and html)")
    plots: dict[str, Plot] = {}
    plots["accuracy_vs_latency.png"] = (
        "Test accuracy vs single-image latency",
        _tradeoff(result, "latency", "single-image latency (ms, log scale)", "Accuracy vs latency"),
    )
    plots["accuracy_vs_size.png"] = (
        "Test accuracy vs model size on disk",
        _tradeoff(result, "size", "model size on disk (MB, log scale)", "Accuracy vs model size"),
    )
    plots["per_letter_recall.png"] = ("Per-letter recall on the test set", _recall(result))
    optional = {
        "robustness.png": ("Accuracy under corruptions by severity", _robustness(result)),
        "validation_gap.png": ("Validation vs test accuracy", _gap(result)),
    }
    plots.update({k: (c, png) for k, (c, png) in optional.items() if png is not None})
    slugs = unique_slugs([m.name for m in result.models])
    for m in result.models:
        plots[f"confusion_{slugs[m.name]}.png"] = (
            f"Confusion matrix of {m.name} on the test set",
            _confusion(f"Confusion matrix: {m.name} (test, % of true letter)", m.confusion, result.letters),
        )
        if m.photos is not None:
            plots[f"photos_confusion_{slugs[m.name]}.png"] = (
                f"Confusion matrix of {m.name} on real photos",
                _confusion(
                    f"Confusion matrix: {m.name} (real photos, % of true letter)",
                    m.photos.confusion,
                    result.letters,
                ),
            )
        trial_png = _trials(m.name, m.trials)
        if trial_png is not None:
            plots[f"trials_{slugs[m.name]}.png"] = (f"Sweep trials of {m.name}", trial_png)
    return plots
