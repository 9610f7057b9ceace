"""Render a :class:`ComparisonResult` as Markdown, HTML, a rich table and a report directory.

The report's content is built once as a list of :class:`_Section` (paragraphs, tables, plot
references); Markdown and HTML are two small renderers of the same sections.

A report directory (written atomically: built aside, renamed into place) holds::

    report.md        the report, linking the plots
    result.json      ComparisonResult.to_json() (ComparisonResult.from_json reads it back)
    plots/*.png      the plots
    report.html      one self-contained file: the report with the plots embedded (base64)
"""

from __future__ import annotations

import base64
import dataclasses
import html
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition._io import atomic_directory, atomic_write_bytes, atomic_write_text
from asl_recognition.errors import InvalidParameterError

if TYPE_CHECKING:
    from rich.table import Table

    from asl_recognition.compare._result import ComparisonResult, ModelEvaluation

__all__ = ["render_html", "render_markdown", "rich_table", "write_report"]

logger = logging.getLogger(__name__)

_FORMATS = ("md", "json", "png", "html")


@dataclasses.dataclass
class _Section:
    title: str
    paragraphs: list[str] = dataclasses.field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = dataclasses.field(default_factory=list)
    plots: list[str] = dataclasses.field(default_factory=list)  # plot file names


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _ci(ci: Any) -> str:
    if ci is None or ci[0] is None or ci[1] is None:
        return "-"
    return f"[{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]"


def _num(x: float | None, fmt: str = ".2f", unit: str = "") -> str:
    return "-" if x is None else f"{x:{fmt}}{unit}"


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def _sections(result: ComparisonResult, plots: Sequence[str]) -> list[_Section]:
    models = [result.model(n) for n in result.ranking]
    names = [m.name for m in models]
    out: list[_Section] = []

    head = _Section("Result")
    head.paragraphs.append(
        f"**Winner: {result.winner}** on {result.dataset} ({result.n_test} test images). "
        f"Rule: {result.winner_rule.describe()}."
    )
    if result.winner_note:
        head.paragraphs.append(result.winner_note)
    head.paragraphs.append(result.significance_note())
    head.tables.append(
        (
            [
                "rank",
                "model",
                "backend",
                "test accuracy",
                "95% CI (Wilson)",
                "macro-F1",
                "validation acc.",
                "val - test gap",
                "corruption acc.",
                "photo acc.",
                "size",
                "latency (1 image)",
                "train time",
            ],
            [
                [
                    str(r["rank"]),
                    r["model"] + (" (winner)" if r["winner"] else ""),
                    r["backend"],
                    _pct(r["accuracy"]),
                    _ci((r["accuracy_ci_low"], r["accuracy_ci_high"])),
                    _num(r["macro_f1"], ".4f"),
                    _pct(r["validation_accuracy"]),
                    _num(
                        None if r["validation_gap"] is None else 100 * r["validation_gap"],
                        "+.2f",
                        " pts",
                    ),
                    _pct(r["mean_corruption_accuracy"]),
                    _pct(r["photo_accuracy"]),
                    _bytes(result.model(r["model"]).size_bytes),
                    _num(r["latency_single_ms"], ".2f", " ms"),
                    _num(r["training_time_s"], ".1f", " s"),
                ]
                for r in result.table
            ],
        )
    )
    head.plots += [p for p in ("accuracy_vs_latency.png", "accuracy_vs_size.png", "validation_gap.png") if p in plots]
    out.append(head)

    stats = _Section("Uncertainty and significance")
    boot = result.settings.get("bootstrap_samples", 0)
    if boot:
        stats.paragraphs.append(
            f"Percentile bootstrap intervals (95%, {boot} resamples, "
            f"seed {result.settings.get('seed')}, "
            "the same resamples for every model)."
        )
        stats.tables.append(
            (
                ["model", "accuracy", "bootstrap 95% CI", "macro-F1", "bootstrap 95% CI"],
                [
                    [
                        m.name,
                        _pct(m.accuracy),
                        _ci(m.accuracy_bootstrap_ci),
                        _num(m.macro_f1, ".4f"),
                        _ci(m.macro_f1_bootstrap_ci),
                    ]
                    for m in models
                ],
            )
        )
    if result.pairwise:
        stats.paragraphs.append(
            "McNemar's exact test on the images where exactly one of the two models is right "
            f"(significance level {result.alpha:g}; Holm-adjusted p-values correct for testing "
            "every pair)."
        )
        stats.tables.append(
            (
                [
                    "model A",
                    "model B",
                    "only A right",
                    "only B right",
                    "p-value",
                    "Holm p-value",
                    "significant",
                ],
                [
                    [
                        p.model_a,
                        p.model_b,
                        str(p.a_only),
                        str(p.b_only),
                        f"{p.p_value:.3g}",
                        f"{p.p_holm:.3g}",
                        "yes" if p.significant(result.alpha) else "no",
                    ]
                    for p in result.pairwise
                ],
            )
        )
    out.append(stats)

    letters = _Section("Per-letter recall")
    letters.tables.append(
        (
            ["letter", *names],
            [[ch, *(_pct(m.per_letter_recall.get(ch), 1) for m in models)] for ch in result.letters],
        )
    )
    letters.plots += [p for p in plots if p == "per_letter_recall.png" or p.startswith("confusion_")]
    out.append(letters)

    if any(m.robustness for m in models):
        rob = _Section("Robustness")
        params = result.settings.get("corruptions", {})
        rob.paragraphs.append(_robustness_sample(result))
        rows = [["clean", "-", *(_pct(m.robustness_clean_accuracy) for m in models)]]
        for cname, values in params.items():
            for level, value in enumerate(values, start=1):
                rows.append(
                    [
                        f"{cname} {level}",
                        f"{value:g}",
                        *(_pct(m.robustness.get(cname, [None] * level)[level - 1]) for m in models),
                    ]
                )
        rows.append(["**mean over corruptions**", "", *(_pct(m.mean_corruption_accuracy) for m in models)])
        rob.tables.append((["corruption, severity", "parameter", *names], rows))
        rob.plots += [p for p in plots if p == "robustness.png"]
        out.append(rob)

    if any(m.photos for m in models):
        out.append(_photos_section(result, models, plots))

    costs = _Section("Costs")
    costs.paragraphs.append(
        f"Latency: median of {result.settings.get('latency_repeats')} timed calls after a warm-up. "
        "Peak Python memory: tracemalloc peak during one batch prediction (Python and NumPy "
        "allocations only; native runtimes are not traced). Max-RSS growth: increase of the "
        "process's "
        "resident-set high-water mark during that call (0 when an earlier step already used more). "
        "Timings on a shared machine are noisy."
    )
    costs.tables.append(
        (
            [
                "model",
                "size on disk",
                "latency (1 image)",
                "latency (batch)",
                "throughput",
                "predict test set",
                "peak Python memory",
                "max-RSS growth",
                "training time",
            ],
            [
                [
                    m.name,
                    _bytes(m.size_bytes),
                    _num(m.latency_single_ms, ".2f", " ms"),
                    f"{m.latency_batch_ms:.1f} ms / {m.batch_size}",
                    _num(m.throughput_ips, ",.0f", " img/s"),
                    _num(m.predict_all_s, ".2f", " s"),
                    _bytes(m.peak_python_bytes),
                    _bytes(m.rss_delta_bytes),
                    _num(m.training_time_s, ".1f", " s"),
                ]
                for m in models
            ],
        )
    )
    out.append(costs)

    for m in models:
        if m.trials:
            tr = _Section(f"Sweep trials of {m.name}")
            keys = sorted({k for t in m.trials for k in (t.get("params") or {})})
            tr.tables.append(
                (
                    ["trial", "state", "value", "duration", *keys],
                    [
                        [
                            str(t.get("number")),
                            str(t.get("state")),
                            _num(t.get("value"), ".4f"),
                            _num(t.get("duration_s"), ".1f", " s"),
                            *(str((t.get("params") or {}).get(k, "")) for k in keys),
                        ]
                        for t in m.trials
                    ],
                )
            )
            tr.plots += [p for p in plots if p.startswith("trials_") and p == _trial_plot(result, m.name)]
            out.append(tr)

    settings = _Section("Settings")
    settings.tables.append(
        (
            ["setting", "value"],
            [[k, str(v)] for k, v in result.settings.items()] + [["evaluated at", result.created_at]],
        )
    )
    out.append(settings)
    return out


def _group_cell(group: Any) -> str:
    """``"62.50% [40.10, 80.00]"`` for one person's (or source's) accuracy."""
    return "-" if group is None else f"{_pct(group['accuracy'])} {_ci(group['ci'])}"


def _group_tables(title: str, models: Sequence[ModelEvaluation]) -> tuple[list[str], list[list[str]]] | None:
    """Accuracy per person (``title="person"``) or per source, one column per model."""
    attr = "per_person" if title == "person" else "per_source"
    groups: dict[str, Any] = {}
    for m in models:
        if m.photos is not None:
            for name, g in getattr(m.photos, attr).items():
                groups.setdefault(name, g)
    if not groups:
        return None
    rows = [
        [name, str(groups[name]["n"]), str(groups[name]["hands_found"]),
         *(_group_cell(getattr(m.photos, attr).get(name)) if m.photos else "-" for m in models)]
        for name in sorted(groups)
    ]  # fmt: skip
    return [title, "photos", "hands found", *(f"{m.name} (95% CI)" for m in models)], rows


def _photos_section(result: ComparisonResult, models: Sequence[ModelEvaluation], plots: Sequence[str]) -> _Section:
    """Real photos: how they were read, accuracy overall, per person, per source and per letter."""
    ph = _Section("Real photos")
    rated = [m for m in models if m.photos is not None]
    settings = result.settings
    persons = settings.get("photos_persons")
    found = settings.get("photos_hands_found")
    ph.paragraphs.append(
        f"Labelled photos from {settings.get('photos_dir')}"
        + (f" ({settings.get('photos_n')} photos of {persons} person(s); a hand was found in {found})"
           if persons is not None and found is not None else "")
        + ". Each photo is decoded and its hand observed once (the learned hand detector: 3-D "
        "landmarks, hand side, hand crop; the skin-colour localiser when it finds no hand), and every "
        "model reads the same observation, as the scoring service does: photo-native models read the "
        "hand's landmarks, the others the 28x28 hand crop (what preprocess_image returns). Every "
        "photo counts, with or without a found hand. Intervals are 95% Wilson score intervals; "
        "photos of one person are not independent (bursts of similar frames), so per-person "
        "accuracy is the number to trust."
    )  # fmt: skip
    ph.tables.append(
        (
            ["model", "reads", "photos", "accuracy", "95% CI (Wilson)"],
            [
                [m.name, _reads(m.photos.reads_photos), str(m.photos.n), _pct(m.photos.accuracy),
                 _ci(m.photos.accuracy_ci)]
                for m in rated
                if m.photos
            ],
        )
    )  # fmt: skip
    for title in ("person", "source"):
        table = _group_tables(title, rated)
        if table is not None and not (title == "source" and _same_groups(rated)):
            ph.tables.append(table)
    ph.tables.append(
        (
            ["letter (recall on photos)", *(m.name for m in rated)],
            [[ch, *(_pct(m.photos.per_letter_recall.get(ch), 1) for m in rated if m.photos)]
             for ch in result.letters],
        )
    )  # fmt: skip
    ph.plots += [p for p in plots if p.startswith("photos_confusion_")]
    return ph


def _reads(reads_photos: bool | None) -> str:
    return "-" if reads_photos is None else "landmarks" if reads_photos else "28x28 crop"


def _same_groups(models: Sequence[ModelEvaluation]) -> bool:
    """Whether the per-source numbers repeat the per-person ones (one source per person), so
    that a source table would say nothing new."""

    def numbers(groups: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return sorted((g["n"], g["accuracy"], g["hands_found"]) for g in groups.values())

    return all(m.photos is None or numbers(m.photos.per_source) == numbers(m.photos.per_person) for m in models)


def _trial_plot(result: ComparisonResult, name: str) -> str:
    from asl_recognition.compare._plots import unique_slugs

    return f"trials_{unique_slugs([m.name for m in result.models])[name]}.png"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: ComparisonResult, *, plots: Sequence[str] = (), plot_dir: str = "plots") -> str:
    """The report as Markdown; ``plots`` (file names under ``plot_dir``) are linked as images."""
    lines = [f"# Model comparison on {result.dataset}", ""]
    for section in _sections(result, plots):
        lines += [f"## {section.title}", ""]
        for para in section.paragraphs:
            lines += [para, ""]
        for headers, rows in section.tables:
            lines.append("| " + " | ".join(map(_md_cell, headers)) + " |")
            lines.append("|" + "---|" * len(headers))
            lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
            lines.append("")
        for p in section.plots:
            lines += [f"![{p}]({plot_dir}/{p})", ""]
    return "\n".join(lines)


def _html_text(text: str) -> str:
    """Escape, then render the one Markdown feature the sections use (``**bold**``)."""
    parts = html.escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;
margin:2em auto;
padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
figure{margin:1em 0} img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:0.9em}
"""


def render_html(result: ComparisonResult, plots: dict[str, tuple[str, bytes]]) -> str:
    """One self-contained HTML page: the report with ``plots`` embedded as base64 PNGs."""
    title = f"Model comparison on {result.dataset}"
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in _sections(result, list(plots)):
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        body += [f"<p>{_html_text(p)}</p>" for p in section.paragraphs]
        for headers, rows in section.tables:
            body.append(
                "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr></thead><tbody>"
            )
            body += ["<tr>" + "".join(f"<td>{_html_text(c)}</td>" for c in row) + "</tr>" for row in rows]
            body.append("</tbody></table>")
        for name in section.plots:
            caption, png = plots[name]
            data = base64.b64encode(png).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def rich_table(result: ComparisonResult) -> Table:
    """The summary table (ranking order) for a terminal."""
    from rich.table import Table

    table = Table(
        title=f"Models on {result.dataset} ({result.n_test} images)",
        caption=f"Winner: {result.winner}. Rule: {result.winner_rule.describe()}.\n{result.significance_note()}",
    )
    columns = [
        "#",
        "model",
        "backend",
        "accuracy",
        "95% CI",
        "macro-F1",
        "val. gap",
        "corrupt. acc.",
        "size",
        "latency",
    ]
    for c in columns:
        table.add_column(c, justify="left" if c in ("model", "backend") else "right")
    for r in result.table:
        table.add_row(
            str(r["rank"]),
            r["model"],
            r["backend"],
            _pct(r["accuracy"]),
            _ci((r["accuracy_ci_low"], r["accuracy_ci_high"])),
            _num(r["macro_f1"], ".4f"),
            _num(None if r["validation_gap"] is None else 100 * r["validation_gap"], "+.2f", " pts"),
            _pct(r["mean_corruption_accuracy"]),
            _bytes(result.model(r["model"]).size_bytes),
            _num(r["latency_single_ms"], ".2f", " ms"),
            style="bold green" if r["winner"] else None,
        )
    return table


def write_report(
    result: ComparisonResult,
    directory: str | os.PathLike[str],
    *,
    formats: Sequence[str] | None = None,
) -> Path:
    """Write the report directory for ``result`` atomically and return its path.

    Args:
        result: what :meth:`Comparator.evaluate` returned.
        directory: the report directory; an existing one is replaced only once the new one is
            complete.
        formats: subset of ``"md"``, ``"json"``, ``"png"``, ``"html"`` (default: the
            comparator's ``report_formats``, else all).
    """
    chosen = tuple(formats if formats is not None else result.settings.get("report_formats") or _FORMATS)
    bad = [f for f in chosen if f not in _FORMATS]
    if bad or not chosen:
        raise InvalidParameterError(f"unknown report format(s) {bad or chosen}; available: {', '.join(_FORMATS)}")
    plots: dict[str, tuple[str, bytes]] = {}
    if "png" in chosen or "html" in chosen:
        from asl_recognition.compare._plots import make_plots

        plots = make_plots(result)
    target = Path(directory)
    with atomic_directory(target) as tmp:
        if "png" in chosen:
            for name, (_, png) in plots.items():
                atomic_write_bytes(tmp / "plots" / name, png)
        if "md" in chosen:
            linked = list(plots) if "png" in chosen else []
            atomic_write_text(tmp / "report.md", render_markdown(result, plots=linked))
        if "json" in chosen:
            atomic_write_text(tmp / "result.json", result.to_json())
        if "html" in chosen:
            atomic_write_text(tmp / "report.html", render_html(result, plots))
    logger.info("wrote comparison report to %s (%s)", target, ", ".join(chosen))
    return target


def _robustness_sample(result: ComparisonResult) -> str:
    """What the robustness table was measured on, naming the models evaluated on fewer images."""
    models = [m for m in result.models if m.robustness]
    n = max(m.robustness_n for m in models)
    text = (f"Accuracy on {n} test images (seeded random subsample, the same for every model) after "
            "deterministic corruptions at increasing severity; 'clean' is the accuracy on the same images "
            "without corruption.")  # fmt: skip
    fewer = [m for m in models if m.robustness_n < n]
    if fewer:
        budget = result.settings.get("robustness_budget_s")
        limit = f"{budget:g} s" if isinstance(budget, (int, float)) else "their time budget"
        named = ", ".join(f"{m.name} on {m.robustness_n}" for m in fewer)
        text += (f" Models whose corrupted-image predictions would take longer than {limit} "
                 f"(robustness_budget_s) were measured on evenly spaced images of that sample: {named}.")  # fmt: skip
    return text

