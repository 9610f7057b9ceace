"""Quickstart: load the data, train two sklearn models, compare them honestly, save the winner.

Run::

    python examples/quickstart.py [--data-dir DIR] [--max-train N] [--out DIR]

``--max-train`` trains on the first N rows of the leak-free training part (for a quick try);
by default the whole training part is used. The comparison uses the held-out test file only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asl_recognition import Comparator, get_trainer, load_dataset, load_model


def main(argv: list[str] | None = None) -> Path:
    """Train, compare, save; return the directory of the saved winner."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="directory with the Sign MNIST CSVs (default: ASL_DATA_DIR)")
    parser.add_argument("--max-train", type=int, default=None, help="train on at most N images")
    parser.add_argument("--out", default="quickstart-output", help="where models and the report go")
    args = parser.parse_args(argv)

    train = load_dataset("train", data_dir=args.data_dir)
    test = load_dataset("test", data_dir=args.data_dir)
    fit_part, validation = train.split_validation(fraction=0.2, seed=0)
    if args.max_train is not None:
        fit_part = fit_part.subset(slice(0, args.max_train))

    results = {
        "logistic": get_trainer("sklearn", estimator="logistic").fit(fit_part, validation=validation, seed=0),
        "svm": get_trainer("sklearn", estimator="svm").fit(fit_part, validation=validation, seed=0),
    }
    comparison = Comparator(test, bootstrap_samples=200, corruptions={}).evaluate(results)
    comparison.print_table()
    out = Path(args.out)
    best_dir = results[comparison.winner].model.save(out / "best")
    comparison.write_report(out / "report")

    model = load_model(best_dir)
    print(f"winner: {comparison.winner}; first five test letters predicted as {model.predict_letters(test.images[:5])}")
    return best_dir


if __name__ == "__main__":
    main()
