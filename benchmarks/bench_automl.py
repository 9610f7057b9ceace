"""Local AutoML (FLAML over scikit-learn pipelines): test accuracy within a time budget.

Run by hand (takes about the budget plus loading and the winner's refit)::

    python benchmarks/bench_automl.py --budget 600 --seed 0

Trains on the leak-free training part of ``sign_mnist_train.csv``, selects on its validation
split, and scores the winner once on ``sign_mnist_test.csv``. Writes
``benchmarks/results/automl.json`` and ``automl.md``. Never asserts; the acceptance bar is
>= 0.88 test accuracy within a 10-minute budget on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

from asl_recognition._io import atomic_write_text
from asl_recognition.data import load_dataset
from asl_recognition.trainers.base import get_trainer

RESULTS = Path(__file__).resolve().parent / "results"
_FALLBACK_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sign-language-mnist"


def main() -> int:
    """Run the benchmark and write its JSON and Markdown results."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--budget", type=float, default=600.0, help="search budget in seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-refit-full", action="store_true", help="keep the model fit without validation")
    p.add_argument("--data-dir", default=None, help="folder of the two CSVs (default: ASL_DATA_DIR)")
    p.add_argument("--out", default=str(RESULTS), help="results folder")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    data_dir = args.data_dir or os.environ.get("ASL_DATA_DIR") or str(_FALLBACK_DATA)
    start = time.perf_counter()
    train = load_dataset("train", data_dir=data_dir)
    test = load_dataset("test", data_dir=data_dir)
    fit_part, validation = train.split_validation(seed=args.seed)
    load_s = time.perf_counter() - start

    trainer = get_trainer("automl", compute="local", time_budget_s=args.budget, refit_full=not args.no_refit_full)
    result = trainer.fit(fit_part, validation=validation, seed=args.seed)
    start = time.perf_counter()
    test_accuracy = float((result.model.predict(test.images) == test.labels).mean())
    predict_s = time.perf_counter() - start

    record = {
        "benchmark": "automl-local",
        "command": f"python benchmarks/bench_automl.py --budget {args.budget:g} --seed {args.seed}"
        + (" --no-refit-full" if args.no_refit_full else ""),
        "budget_s": args.budget,
        "seed": args.seed,
        "winner": result.hyperparameters,
        "validation_accuracy": result.metrics.get("validation_accuracy"),
        "test_accuracy": test_accuracy,
        "timings_s": {**result.timings, "load_s": load_s, "predict_test_s": predict_s},
        "trials": len(result.trials),
        "families_tried": sorted({str(t.params.get("learner")) for t in result.trials}),
        "best_per_family": {
            fam: max((t.value or 0.0) for t in result.trials if t.params.get("learner") == fam)
            for fam in {str(t.params.get("learner")) for t in result.trials}
        },
        "sizes": {"fit": len(fit_part), "validation": len(validation), "test": len(test)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "note": "timings inflated when the machine is shared",
    }
    out = Path(args.out)
    atomic_write_text(out / "automl.json", json.dumps(record, indent=2, default=str))
    lines = [
        "# Local AutoML benchmark",
        "",
        f"Command: `{record['command']}`",
        "",
        "| budget s | winner | validation acc | test acc | search s | refit s | trials |",
        "|---|---|---|---|---|---|---|",
        f"| {args.budget:g} | {result.hyperparameters.get('family')} "
        f"| {record['validation_accuracy']:.4f} | {test_accuracy:.4f} "
        f"| {result.timings.get('search_s', 0):.0f} | {result.timings.get('refit_s', 0):.0f} "
        f"| {len(result.trials)} |",
        "",
        f"Winner configuration: `{result.hyperparameters}`",
        "",
        "Best validation accuracy per family: "
        + ", ".join(f"{k} {v:.4f}" for k, v in sorted(record["best_per_family"].items())),
        "",
        "Acceptance: >= 0.88 test accuracy within a 10-minute budget on 2 cores.",
    ]
    atomic_write_text(out / "automl.md", "\n".join(lines) + "\n")
    logging.getLogger(__name__).info("test accuracy %.4f -> %s", test_accuracy, out / "automl.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
