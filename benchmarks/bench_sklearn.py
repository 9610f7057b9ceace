"""Measure the sklearn backend on the real data: train time, validation and test accuracy, gap.

Run by hand (not by CI)::

    python benchmarks/bench_sklearn.py [--data-dir DIR] [--seeds 0 1 2]

For each estimator (logistic regression: the default; svm: PCA(60) + RBF SVM on per-image
normalised pixels) and each split seed it trains on the leak-free split's training part, and
reports validation accuracy, test accuracy and their gap; a random split of the training file is
measured once for contrast (it leaks). Writes ``benchmarks/results/sklearn.json`` and ``.md``.
Never asserts.
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

from asl_recognition import get_trainer, load_dataset
from asl_recognition._io import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"
ESTIMATORS: dict[str, dict[str, Any]] = {"logistic": {}, "svm": {"estimator": "svm"}}


def _run(name: str, params: dict[str, Any], fit: Any, val: Any, test: Any, seed: int, split: str) -> dict[str, Any]:
    start = time.perf_counter()
    result = get_trainer("sklearn", **params).fit(fit, validation=val, seed=seed)
    fit_s = time.perf_counter() - start
    test_acc = float((result.model.predict(test.images) == test.labels).mean())
    val_acc = result.metrics["validation_accuracy"]
    row = {
        "estimator": name,
        "split": split,
        "seed": seed,
        "fit_s": round(fit_s, 1),
        "validation_accuracy": round(val_acc, 4),
        "test_accuracy": round(test_acc, 4),
        "gap": round(abs(val_acc - test_acc), 4),
    }
    logging.info("%s", row)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("ASL_DATA_DIR"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train = load_dataset("train", data_dir=args.data_dir)
    test = load_dataset("test", data_dir=args.data_dir)
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        fit, val = train.split_validation(seed=seed)
        for name, params in ESTIMATORS.items():
            rows.append(_run(name, params, fit, val, test, seed, "grouped"))
    fit, val = train.split_validation(seed=0, method="random")
    rows.append(_run("logistic", {}, fit, val, test, 0, "random (leaky)"))
    record = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "sklearn.json", json.dumps(record, indent=2))
    lines = [
        "# sklearn backend on Sign Language MNIST",
        "",
        "Command: `python benchmarks/bench_sklearn.py`",
        "",
        "| estimator | split | seed | fit s | validation acc | test acc | gap |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['estimator']} | {r['split']} | {r['seed']} | {r['fit_s']} | {r['validation_accuracy']} | "
        f"{r['test_accuracy']} | {r['gap']} |"
        for r in rows
    ]
    atomic_write_text(RESULTS / "sklearn.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
