"""How the photo path holds up when the same photos are taken differently (light, camera, framing).

Run by hand (not by CI)::

    python benchmarks/bench_photo_conditions.py --model default_cnn=DIR [--photos DIR] [--tag NAME]

The development photos are one signer in one room under one camera. Other photos differ in
ways that can be simulated on them without inventing content: each *condition* below changes
every photo, re-encodes it as a JPEG (quality 90) and sends the bytes through
``preprocess_image``, exactly as the service and ``asl-recognition predict`` would. Reported per
condition: accuracy of each model, and the number of photos in which a hand was found.

- ``as_taken``: the original files, not re-encoded; ``reencoded``: re-encoded only (the
  baseline of every other condition: JPEG re-encoding alone moves a few predictions);
- light: ``darker`` / ``brighter`` (x0.6 / x1.3), ``warm`` (R x1.15, B x0.85), ``tungsten``
  (R x1.25, B x0.7), ``cool`` (R x0.87, B x1.15), ``desaturated`` (colour x0.6);
- camera and framing: ``upscaled`` (4x, an 800-pixel photo), ``wider`` (the scene extended by
  half the height at the top and both sides, edge pixels repeated: the hand smaller in the
  picture), ``landscape`` (100 columns added at each side), ``closeup`` (cropped to 1.2x the hand
  box the pipeline finds in the original), ``closeup_warm`` (the same under the warm light).

Writes the benchmark's one current result, ``benchmarks/results/photo_conditions.json`` and
``.md`` (``--tag SUFFIX`` writes an ad-hoc ``photo_conditions<SUFFIX>`` beside it instead).
Never asserts.
"""

from __future__ import annotations

import io
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance

from asl_recognition import load_model
from asl_recognition.images import preprocess_image
from asl_recognition.photo import find_hand

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_photos import _photos, model_specs, photo_parser, write_results

logger = logging.getLogger("bench_photo_conditions")

Condition = Callable[[Image.Image], Image.Image]


def _channels(r: float, b: float) -> Condition:
    def tint(im: Image.Image) -> Image.Image:
        x = np.asarray(im, dtype=np.float32) * np.asarray([r, 1.0, b], dtype=np.float32)
        return Image.fromarray(np.clip(np.rint(x), 0, 255).astype(np.uint8))

    return tint


def _extend(top: float, sides: float) -> Condition:
    def pad(im: Image.Image) -> Image.Image:
        x = np.asarray(im)
        t, s = round(top * x.shape[0]), round(sides * x.shape[0])
        return Image.fromarray(np.pad(x, ((t, 0), (s, s), (0, 0)), mode="edge"))

    return pad


def _closeup(im: Image.Image) -> Image.Image:
    box = find_hand(np.asarray(im))
    if box is None:
        return im
    cx, cy, half = (box.left + box.right) / 2, (box.top + box.bottom) / 2, 0.6 * box.side
    return im.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half))).resize((200, 200))


CONDITIONS: dict[str, Condition | None] = {
    "as_taken": None,
    "reencoded": lambda im: im,
    "darker": lambda im: ImageEnhance.Brightness(im).enhance(0.6),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "warm": _channels(1.15, 0.85),
    "tungsten": _channels(1.25, 0.7),
    "cool": _channels(0.87, 1.15),
    "desaturated": lambda im: ImageEnhance.Color(im).enhance(0.6),
    "upscaled": lambda im: im.resize((im.width * 4, im.height * 4), Image.Resampling.BICUBIC),
    "wider": _extend(0.5, 0.5),
    "landscape": lambda im: _extend(0.0, 100 / im.height)(im),
    "closeup": _closeup,
    "closeup_warm": lambda im: _channels(1.15, 0.85)(_closeup(im)),
}


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _inputs(files: list[tuple[Path, int]], condition: Condition | None) -> tuple[np.ndarray, int]:
    """The 28x28 model inputs of every photo under ``condition``, and how many had a hand."""
    images, found = [], 0
    for f, _ in files:
        if condition is None:
            data = f.read_bytes()
            with Image.open(f) as im:
                rgb = np.asarray(im.convert("RGB"))
        else:
            with Image.open(f) as im:
                changed = condition(im.convert("RGB"))
            data, rgb = _jpeg(changed), np.asarray(changed)
        images.append(preprocess_image(data))
        found += find_hand(rgb) is not None
    return np.stack(images).astype(np.float32), found


def _markdown(report: dict[str, Any]) -> str:
    names = [m["name"] for m in report["models"]]
    lines = [
        "# Real photos under other conditions (simulated on the development photos)",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Photos: {report['photos']} ({report['n_photos']}). Each condition changes every photo, "
        "re-encodes it (JPEG quality 90) and runs `preprocess_image` on the bytes; see the "
        "script's docstring for the conditions. Accuracy (photos right) and hands found.",
        "",
        "| condition | hands found | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for cond, row in report["conditions"].items():
        cells = [f"{row['accuracy'][n]:.3f} ({row['correct'][n]})" for n in names]
        lines.append(f"| {cond} | {row['hands_found']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = photo_parser(__doc__)
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated subset")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    unknown = [c for c in args.conditions.split(",") if c not in CONDITIONS]
    if unknown:
        raise SystemExit(f"unknown conditions {unknown}; known: {', '.join(CONDITIONS)}")
    specs = model_specs(args.model)
    models = {name: load_model(path) for name, path in specs}
    files = _photos(Path(args.photos))
    labels = np.asarray([lab for _, lab in files], dtype=np.int64)
    results: dict[str, Any] = {}
    for cond in args.conditions.split(","):
        inputs, found = _inputs(files, CONDITIONS[cond])
        correct = {n: int((m.predict(inputs) == labels).sum()) for n, m in models.items()}
        results[cond] = {"hands_found": found, "correct": correct,
                         "accuracy": {n: round(c / len(files), 4) for n, c in correct.items()}}
        logger.info("%s: hands %d, correct %s", cond, found, correct)
    report = {
        "command": "python benchmarks/bench_photo_conditions.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "photos": str(args.photos),
        "n_photos": len(files),
        "models": [{"name": name, "path": path} for name, path in specs],
        "conditions": results,
    }
    write_results(f"photo_conditions{args.tag}", report, _markdown(report))


if __name__ == "__main__":
    main()
