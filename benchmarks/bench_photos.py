"""Measure models on real photos before/after the photo pipeline, per letter, and on the test file.

Run by hand (not by CI)::

    python benchmarks/bench_photos.py --model baseline=DIR --model photo_augmented=DIR \\
        [--photos DIR] [--data-dir DIR] [--tag NAME]

For each saved model it reports:

- ``test_accuracy``: accuracy on ``sign_mnist_test.csv`` (28x28 crops, no photo preprocessing);
- ``photos_before``: accuracy on the photo folder with the old preprocessing (greyscale, centre
  square crop, area resize): each photo is converted to greyscale first, which sends it down
  ``preprocess_image``'s unchanged basic path;
- ``photos_after``: accuracy with ``preprocess_image`` on the photo file itself (hand
  localisation, hand crop, contrast matching: :mod:`asl_recognition.photo`);
- ``photos_after_mirrored``: the same on the photos flipped left to right, i.e. as a
  left-handed signer would show them (mirror policy: :mod:`asl_recognition.photo.mirror`);
- per letter accuracy before/after, how many photos had a hand found, and the preprocessing time.

Writes the benchmark's one current result, ``benchmarks/results/photos.json`` and ``photos.md``
(``--tag SUFFIX`` writes an ad-hoc ``photos<SUFFIX>`` beside it instead: commit only the current
file, git keeps its history). Never asserts. The dev photo set is small and narrow (one signer,
one room): read its numbers as a sanity check, not as a target to tune to.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition import load_dataset, load_model
from asl_recognition._io import atomic_write_text
from asl_recognition.data.letters import VALID_LETTERS, label_to_letter, letter_to_label

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_PHOTOS = SHARED_DATA / "asl-photos-dev"
DEFAULT_DATA = SHARED_DATA / "sign-language-mnist"

logger = logging.getLogger("bench_photos")


def _photos(root: Path) -> list[tuple[Path, int]]:
    files = [
        (f, letter_to_label(d.name))
        for d in sorted(root.iterdir())
        if d.is_dir() and d.name.upper() in VALID_LETTERS
        for f in sorted(d.iterdir())
        if f.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]
    if not files:
        raise SystemExit(f"no <LETTER>/*.jpg photos under {root}")
    return files


def _preprocess(files: list[tuple[Path, int]]) -> dict[str, Any]:
    """Both preprocessings of every photo, with timings and how many hands were found."""
    from PIL import Image

    from asl_recognition.images import preprocess_image
    from asl_recognition.photo import find_hand

    before, after, mirrored, found = [], [], [], 0
    t_before = t_after = 0.0
    for f, _ in files:
        start = time.perf_counter()
        with Image.open(f) as im:
            grey = np.asarray(im.convert("L"))
        before.append(preprocess_image(grey))
        t_before += time.perf_counter() - start
        start = time.perf_counter()
        after.append(preprocess_image(f))
        t_after += time.perf_counter() - start
        with Image.open(f) as im:
            rgb = np.asarray(im.convert("RGB"))
        found += find_hand(rgb) is not None
        mirrored.append(preprocess_image(np.ascontiguousarray(rgb[:, ::-1])))
    n = len(files)
    return {
        "before": np.stack(before),
        "after": np.stack(after),
        "mirrored": np.stack(mirrored),
        "hands_found": found,
        "ms_per_photo_before": round(1000 * t_before / n, 2),
        "ms_per_photo_after": round(1000 * t_after / n, 2),
    }


def _per_letter(pred: npt.NDArray[Any], labels: npt.NDArray[np.int64]) -> dict[str, float]:
    return {
        label_to_letter(int(k)): round(float((pred[labels == k] == k).mean()), 3) for k in np.unique(labels)
    }


def _measure(name: str, path: str, test: Any, photos: dict[str, Any], labels: Any) -> dict[str, Any]:
    model = load_model(path)
    test_acc = float((model.predict(test.images) == test.labels).mean())
    pred_before = model.predict(photos["before"].astype(np.float32))
    pred_after = model.predict(photos["after"].astype(np.float32))
    pred_mirrored = model.predict(photos["mirrored"].astype(np.float32))
    row = {
        "model": name,
        "path": str(path),
        "backend": model.metadata.backend,
        "hyperparameters": dict(model.metadata.hyperparameters),
        "test_accuracy": round(test_acc, 4),
        "photos_before": round(float((pred_before == labels).mean()), 4),
        "photos_after": round(float((pred_after == labels).mean()), 4),
        "photos_after_mirrored": round(float((pred_mirrored == labels).mean()), 4),
        "per_letter_before": _per_letter(pred_before, labels),
        "per_letter_after": _per_letter(pred_after, labels),
    }
    logger.info("%s: test %.4f, photos before %.4f, after %.4f", name, row["test_accuracy"],
                row["photos_before"], row["photos_after"])
    return row


def _markdown(report: dict[str, Any]) -> str:
    rows = report["models"]
    lines = [
        "# Real photos: before/after the photo pipeline",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Photos: {report['photos']} ({report['n_photos']} photos, hand found in {report['hands_found']}); "
        f"preprocessing {report['ms_per_photo_before']} ms/photo before, {report['ms_per_photo_after']} ms/photo "
        f"after; {report['machine']}.",
        "",
        "*before*: greyscale, centre square crop, area resize (the old `preprocess_image`). "
        "*after*: `preprocess_image` on the photo (hand localisation, hand crop, contrast matching). "
        "Chance is ~4 %. The dev set is one signer in one room: a sanity check, not a target.",
        "",
        "*after, mirrored*: the photos flipped left to right (a left-handed signer), after.",
        "",
        "| model | test file | photos before | photos after | after, mirrored |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['test_accuracy']:.4f} | {r['photos_before']:.3f} | {r['photos_after']:.3f} "
        f"| {r['photos_after_mirrored']:.3f} |"
        for r in rows
    ]
    letters = list(rows[0]["per_letter_after"]) if rows else []
    lines += ["", "Per letter (before / after):", "", "| letter | " + " | ".join(r["model"] for r in rows) + " |",
              "|---|" + "---|" * len(rows)]
    for letter in letters:
        cells = [f"{r['per_letter_before'][letter]:.2f} / {r['per_letter_after'][letter]:.2f}" for r in rows]
        lines.append(f"| {letter} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def photo_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every photo benchmark takes: ``--model NAME=DIR`` (repeatable), ``--photos``, ``--tag``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--model", action="append", required=True, metavar="NAME=DIR",
                        help="a saved model directory (repeat for several)")
    parser.add_argument("--photos", default=os.environ.get("ASL_PHOTOS_DIR", str(DEFAULT_PHOTOS)))
    parser.add_argument("--tag", default="", help="ad-hoc run: write <name><TAG>.json/.md, not the current result")
    return parser


def model_specs(specs: list[str]) -> list[tuple[str, str]]:
    """``NAME=DIR`` options as (name, directory); a bare ``DIR`` is named after its last part."""
    return [(m.split("=", 1)[0], m.split("=", 1)[1]) if "=" in m else (Path(m).name, m) for m in specs]


def write_results(stem: str, report: dict[str, Any], markdown: str) -> None:
    """Write ``results/<stem>.json`` and ``.md`` atomically."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(RESULTS / f"{stem}.md", markdown)
    logger.info("wrote %s", RESULTS / f"{stem}.md")


def main() -> None:
    parser = photo_parser(__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("ASL_DATA_DIR", str(DEFAULT_DATA)))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    models = model_specs(args.model)
    files = _photos(Path(args.photos))
    labels = np.asarray([lab for _, lab in files], dtype=np.int64)
    photos = _preprocess(files)
    test = load_dataset("test", data_dir=args.data_dir)
    report = {
        "command": "python benchmarks/bench_photos.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "photos": str(args.photos),
        "n_photos": len(files),
        "hands_found": photos["hands_found"],
        "ms_per_photo_before": photos["ms_per_photo_before"],
        "ms_per_photo_after": photos["ms_per_photo_after"],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared; timings inflated)",
        "models": [_measure(name, path, test, photos, labels) for name, path in models],
    }
    write_results(f"photos{args.tag}", report, _markdown(report))


if __name__ == "__main__":
    main()
