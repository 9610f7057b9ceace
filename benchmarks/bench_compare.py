"""How long the Comparator takes on the real test file, part by part (run by hand; never asserts).

Trains two quick scikit-learn models on a slice of the training file (logistic regression and
k-NN on PCA features), then times :meth:`Comparator.evaluate` on all 7,172 test images with
parts switched on one at a time: core metrics + costs, + bootstrap, + robustness (subsample and
full test set), + real photos. Finally writes the full report and times that::

    python benchmarks/bench_compare.py [--data-dir DIR] [--photos-dir DIR] [--train-rows 4000]

Writes ``benchmarks/results/compare.json``, ``compare.md`` and the report of the last run under
``benchmarks/results/compare_report/``. Timings on a shared machine are inflated by contention.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from asl_recognition import get_trainer, load_dataset, progress
from asl_recognition._io import atomic_write_text
from asl_recognition.compare import Comparator

RESULTS = Path(__file__).resolve().parent / "results"
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> int:
    """Run the benchmark and write its JSON and Markdown results."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--data-dir", default=None, help="folder of the two CSVs (default: ASL_DATA_DIR)")
    p.add_argument("--photos-dir", default=str(_SHARED / "asl-photos-dev"))
    p.add_argument("--train-rows", type=int, default=4000)
    p.add_argument("--out", default=str(RESULTS), help="results folder")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    progress.configure("plain")

    data_dir = args.data_dir or os.environ.get("ASL_DATA_DIR") or str(_SHARED / "sign-language-mnist")
    train = load_dataset("train", data_dir=data_dir)
    test = load_dataset("test", data_dir=data_dir)
    idx = np.sort(np.random.default_rng(0).choice(len(train), size=args.train_rows, replace=False))
    part = train.subset(idx)
    models = {
        "logistic": get_trainer("sklearn", estimator="logistic", max_iter=100).fit(part),
        "knn": get_trainer("sklearn", estimator="knn").fit(part),
    }
    photos = args.photos_dir if Path(args.photos_dir).is_dir() else None
    runs: list[tuple[str, dict[str, Any]]] = [
        ("metrics + costs", {"bootstrap_samples": 0, "corruptions": {}}),
        ("+ bootstrap (1000)", {"corruptions": {}}),
        ("+ robustness (2000-image subsample)", {}),
        ("+ robustness (full test set)", {"robustness_subsample": None}),
    ]
    if photos:
        runs.append(("+ photos (default subsample)", {"photos_dir": photos}))
    rows = []
    result = None
    for label, options in runs:
        start = time.perf_counter()
        result = Comparator(test, **options).evaluate(models)
        rows.append({"run": label, "seconds": time.perf_counter() - start, "options": options})
    assert result is not None
    start = time.perf_counter()
    result.write_report(Path(args.out) / "compare_report")
    report_s = time.perf_counter() - start

    out = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "train_rows": args.train_rows,
        "n_test": len(test),
        "runs": rows,
        "report_s": report_s,
        "last_result_table": result.table,
        "note": "wall-clock seconds for 2 models; the machine may be shared (timings inflated)",
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(args.out) / "compare.json", json.dumps(out, indent=2, default=str))
    md = [
        "# Comparator timings (2 sklearn models, 7,172 test images)",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}; possibly shared, so inflated.",
        "",
        "| run | seconds |",
        "|---|---|",
        *(f"| {r['run']} | {r['seconds']:.1f} |" for r in rows),
        f"| write_report (md, json, png, html) | {report_s:.1f} |",
        "",
        result.to_markdown().split("## Uncertainty")[0].replace("# Model comparison", "## Model comparison"),
    ]
    atomic_write_text(Path(args.out) / "compare.md", "\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
