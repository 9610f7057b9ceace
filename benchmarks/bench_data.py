"""Benchmark the data package on the real Sign MNIST files (run by hand; never asserts).

Measures: CSV parse + validation time against a bare ``pandas.read_csv`` and ``numpy.loadtxt``,
binary-cache reload time, near-duplicate grouping and split time, and the gap between validation
and test accuracy of a logistic regression (pixels/255, default C, max_iter=200) for grouped
splits at several thresholds and seeds, with a random split for contrast.

    python benchmarks/bench_data.py [--data-dir DIR] [--thresholds 0.06 0.08 0.1]
        [--seeds 0 1 2 3 4] [--random-seeds 0 1]

Writes ``benchmarks/results/data.json`` and ``benchmarks/results/data.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asl_recognition._io import atomic_write_text
from asl_recognition.data import Dataset, load_dataset
from asl_recognition.data._split import grouped_split, random_split

_log = logging.getLogger("bench_data")
RESULTS = Path(__file__).resolve().parent / "results"


def _default_data_dir() -> Path:
    env = os.environ.get("ASL_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "sign-language-mnist"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def logreg_gap(train: Dataset, val: Dataset, test: Dataset) -> dict[str, float]:
    """Fit a logistic regression on ``train``; accuracy on validation and test, and the gap."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    def x(ds: Dataset) -> np.ndarray[Any, np.dtype[np.float64]]:
        return ds.images.reshape(len(ds), -1) / 255.0

    model = LogisticRegression(max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x(train), train.labels)
    val_acc = float(model.score(x(val), val.labels))
    test_acc = float(model.score(x(test), test.labels))
    return {"val_acc": val_acc, "test_acc": test_acc, "gap": abs(val_acc - test_acc)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=_default_data_dir())
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.06, 0.08, 0.1])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--random-seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument(
        "--timing-only",
        action="store_true",
        help="re-measure the load/cache timings only; keep the gap results of the last full run",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train_csv = args.data_dir / "sign_mnist_train.csv"
    result: dict[str, Any] = {}
    if args.timing_only and (RESULTS / "data.json").is_file():
        result = json.loads((RESULTS / "data.json").read_text())
    result.update(cpu_count=os.cpu_count(), load_avg_start=os.getloadavg())

    # interleaved, so that a change in machine load hits both sides alike
    ours, bare = [], []
    for _ in range(5):
        ours.append(best_of(lambda: Dataset.from_csv(train_csv, cache=False), 1))
        bare.append(best_of(lambda: pd.read_csv(train_csv), 1))
    result["parse_s"] = min(ours)
    result["pandas_read_csv_s"] = min(bare)
    result["parse_over_pandas_median_pairwise"] = float(np.median(np.array(ours) / bare))
    result["numpy_loadtxt_s"] = best_of(lambda: np.loadtxt(train_csv, dtype=np.uint8, delimiter=",", skiprows=1), 1)
    result["parse_over_pandas"] = result["parse_s"] / result["pandas_read_csv_s"]
    _log.info("parse %.3fs, pandas %.3fs", result["parse_s"], result["pandas_read_csv_s"])

    with tempfile.TemporaryDirectory() as cache_dir:
        Dataset.from_csv(train_csv, cache_dir=cache_dir)
        result["cache_reload_s"] = best_of(lambda: Dataset.from_csv(train_csv, cache_dir=cache_dir), 5)
        if args.timing_only:
            result["note"] = (
                "Timings re-measured with --timing-only; the grouping and accuracy-gap results "
                "below are from the last full run (same code, OPENBLAS_NUM_THREADS=1)."
            )
            result["load_avg_end"] = os.getloadavg()
            _write(result)
            return
        train = load_dataset("train", args.data_dir, download=False, cache_dir=cache_dir)
        test = load_dataset("test", args.data_dir, download=False, cache_dir=cache_dir)
        result["groups"] = {}
        group_ids = {}
        for t in args.thresholds:
            start = time.perf_counter()
            group_ids[t] = train.groups(threshold=t, cache=False)
            elapsed = time.perf_counter() - start
            result["groups"][str(t)] = {"n_groups": int(group_ids[t].max()) + 1, "time_s": elapsed}
            _log.info("threshold %g: %d groups in %.1fs", t, group_ids[t].max() + 1, elapsed)
        train.groups(threshold=args.thresholds[0], cache=True, cache_dir=cache_dir)
        result["groups_cached_s"] = best_of(
            lambda: train.groups(threshold=args.thresholds[0], cache=True, cache_dir=cache_dir), 3
        )
    result["split_from_groups_s"] = best_of(
        lambda: grouped_split(train.labels, group_ids[args.thresholds[0]], fraction=0.2, seed=0), 3
    )

    runs: list[dict[str, Any]] = []
    for seed in args.seeds:
        splits: dict[str, Any] = {}
        if seed in args.random_seeds:
            splits["random"] = random_split(train.labels, fraction=args.fraction, seed=seed)
        for t in args.thresholds:
            splits[f"grouped@{t}"] = grouped_split(train.labels, group_ids[t], fraction=args.fraction, seed=seed)
        for method, (tr_idx, va_idx) in splits.items():
            start = time.perf_counter()
            metrics: dict[str, Any] = dict(logreg_gap(train.subset(tr_idx), train.subset(va_idx), test))
            metrics.update(
                method=method,
                seed=seed,
                n_val=len(va_idx),
                fit_s=time.perf_counter() - start,
            )
            runs.append(metrics)
            _log.info("%s", metrics)
    result["runs"] = runs
    summary: dict[str, dict[str, float]] = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        gaps = [r["gap"] for r in runs if r["method"] == method]
        summary[method] = {"mean_gap": float(np.mean(gaps)), "max_gap": float(np.max(gaps))}
    result["gap_summary"] = summary
    result["load_avg_end"] = os.getloadavg()

    _write(result)


def _write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "data.json", json.dumps(result, indent=2))
    atomic_write_text(RESULTS / "data.md", render_markdown(result))
    _log.info("wrote %s", RESULTS / "data.md")


def render_markdown(r: dict[str, Any]) -> str:
    """The results as a short Markdown report."""
    lines = [
        "# Data package benchmark",
        "",
        f"CPUs: {r['cpu_count']}; load average at start {r['load_avg_start'][0]:.1f}, "
        f"at end {r['load_avg_end'][0]:.1f} (shared machine: times are inflated by contention).",
        "",
        *([r["note"], ""] if r.get("note") else []),
        "| measurement | seconds |",
        "|---|---|",
        f"| Dataset.from_csv(train), validation + fingerprint, no cache | {r['parse_s']:.3f} |",
        f"| bare pandas.read_csv(train) | {r['pandas_read_csv_s']:.3f} |",
        f"| numpy.loadtxt(train, uint8) | {r['numpy_loadtxt_s']:.3f} |",
        f"| cache reload (np.load + fingerprint check) | {r['cache_reload_s']:.4f} |",
        f"| groups, cached reload | {r['groups_cached_s']:.4f} |",
        f"| grouped split from groups | {r['split_from_groups_s']:.4f} |",
        "",
        f"Parse / pandas ratio: {r['parse_over_pandas']:.2f} best-of-5 "
        f"(median of interleaved pairs: {r.get('parse_over_pandas_median_pairwise', float('nan')):.2f}; "
        "bar: 1.5).",
        "",
        "| threshold | groups | grouping time (s) |",
        "|---|---|---|",
    ]
    for t, g in r["groups"].items():
        lines.append(f"| {t} | {g['n_groups']} | {g['time_s']:.1f} |")
    lines += [
        "",
        "Logistic regression (pixels/255, max_iter=200): |validation acc - test acc|",
        "",
        "| split | mean gap | max gap |",
        "|---|---|---|",
    ]
    for method, s in r["gap_summary"].items():
        lines.append(f"| {method} | {s['mean_gap']:.3f} | {s['max_gap']:.3f} |")
    lines += ["", "| split | seed | val acc | test acc | gap | n_val |", "|---|---|---|---|---|---|"]
    for run in r["runs"]:
        lines.append(
            f"| {run['method']} | {run['seed']} | {run['val_acc']:.4f} | {run['test_acc']:.4f} "
            f"| {run['gap']:.4f} | {run['n_val']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
