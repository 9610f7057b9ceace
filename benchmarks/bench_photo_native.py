"""The photo recogniser (``photo`` backend) on photos of people it never saw, per person.

Run by hand (not by CI; about 15-30 minutes on 2 cores, most of it hand detection on a first
run; observations are cached on disk, so a second run is quicker)::

    python benchmarks/bench_photo_native.py [--pixel DIR] [--dev DIR] [--train-photos DIR]
        [--skip-lopo] [--seed 0]

What it measures (and writes to ``benchmarks/results/photo_native.json`` / ``.md``):

- **Detection recall** per source and person of the development and training photos.
- **Leave-one-person-out** on the training photos: the pose expert trained on Sign MNIST and
  the other persons' photos, read on the held-out person's photos.
- **Development set**, per person with Wilson 95 % intervals, for the recogniser trained on
  Sign MNIST alone and on Sign MNIST plus the training photos, under four conditions:
  ``plain`` (the photos as they are), ``tight_on_black`` (the hand cut out tightly and pasted on
  black, as tight crops are) and ``small_in_clutter`` (the photo shrunk into a larger frame of
  other photos' patches, as a small hand in a busy room) and ``mirrored`` (the photo flipped
  left to right: the same letters signed with the other hand, or through a selfie camera).
- With ``--pixel DIR`` (a saved 28x28 model, e.g. a main job's ``models/cnn_fast``) the pixel
  expert and the learned fusion weight; the test-file accuracy, size on disk and the end-to-end
  time per photo (decode, detect, classify) of the saved recogniser.

The dev set is narrow (three people): nothing here was tuned on it. Never asserts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition import get_trainer, load_dataset, load_model
from asl_recognition._io import atomic_write_text, directory_size
from asl_recognition.compare._metrics import wilson_interval
from asl_recognition.data.photos import PhotoDataset, load_photo_dataset
from asl_recognition.models.base import TrainedModel
from asl_recognition.photo.observe import observe_photos
from asl_recognition.photo.pipeline import HandObservation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cnn import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

logger = logging.getLogger("bench_photo_native")


def _per_group(right: npt.NDArray[np.bool_], groups: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for g in sorted(set(groups)):
        mine = np.array([x == g for x in groups])
        k, n = int(right[mine].sum()), int(mine.sum())
        out[g] = {"n": n, "accuracy": k / n, "ci95": list(wilson_interval(k, n))}
    return out


def _summary(right: npt.NDArray[np.bool_], persons: Sequence[str]) -> dict[str, Any]:
    k, n = int(right.sum()), len(right)
    return {"n": n, "accuracy": k / n, "ci95": list(wilson_interval(k, n)), "per_person": _per_group(right, persons)}


def _recall(observations: Sequence[HandObservation], ds: PhotoDataset) -> dict[str, Any]:
    found = np.array([o.pose is not None for o in observations])
    attempts: dict[str, int] = defaultdict(int)
    for o in observations:
        attempts[o.pose.attempt if o.pose is not None else "none"] += 1
    return {
        "overall": float(found.mean()),
        "per_source": {s: v["accuracy"] for s, v in _per_group(found, ds.sources).items()},
        "per_person": {s: v["accuracy"] for s, v in _per_group(found, ds.persons).items()},
        "attempts": dict(attempts),
    }


def _tight_on_black(rgb: npt.NDArray[np.uint8], obs: HandObservation) -> npt.NDArray[np.uint8] | None:
    if obs.pose is None:
        return None
    pts = obs.pose.landmarks
    pad = 0.15 * obs.pose.palm_length
    h, w = rgb.shape[:2]
    x0, y0 = (np.maximum(pts.min(0) - pad, 0)).astype(int)
    x1, y1 = (np.minimum(pts.max(0) + pad, [w, h])).astype(int)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    hand = rgb[y0:y1, x0:x1]
    side = int(max(hand.shape[:2]) * 1.1)
    canvas = np.zeros((side, side, 3), np.uint8)
    oy, ox = (side - hand.shape[0]) // 2, (side - hand.shape[1]) // 2
    canvas[oy : oy + hand.shape[0], ox : ox + hand.shape[1]] = hand
    return canvas


def _small_in_clutter(rgb: npt.NDArray[np.uint8], patches: Sequence[npt.NDArray[np.uint8]],
                      rng: np.random.Generator) -> npt.NDArray[np.uint8]:  # fmt: skip
    from PIL import Image

    h, w = rgb.shape[:2]
    big_h, big_w = int(h * 2.2), int(w * 2.2)
    canvas = np.zeros((big_h, big_w, 3), np.uint8)
    tile = 64
    for y in range(0, big_h, tile):
        for x in range(0, big_w, tile):
            p = patches[int(rng.integers(len(patches)))]
            canvas[y : y + tile, x : x + tile] = p[: min(tile, big_h - y), : min(tile, big_w - x)]
    small = np.asarray(Image.fromarray(rgb).resize((int(w * 0.9), int(h * 0.9)), Image.Resampling.BOX))
    top = int(rng.integers(0, big_h - small.shape[0]))
    left = int(rng.integers(0, big_w - small.shape[1]))
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return canvas


def _conditions(dev: PhotoDataset, observations: Sequence[HandObservation], train: PhotoDataset,
                seed: int) -> dict[str, list[HandObservation]]:  # fmt: skip
    """The dev photos under the evaluation conditions (observed fresh: arrays, no cache)."""
    from asl_recognition.images import read_photo

    rng = np.random.default_rng(seed)
    patches = []
    for f in [train.files[i] for i in rng.choice(len(train), size=min(60, len(train)), replace=False)]:
        img = read_photo(f)
        if min(img.shape[:2]) >= 64:
            y, x = rng.integers(0, img.shape[0] - 63), rng.integers(0, img.shape[1] - 63)
            patches.append(img[y : y + 64, x : x + 64])
    tight: list[Any] = []
    clutter: list[Any] = []
    mirrored: list[Any] = []
    for f, obs in zip(dev.files, observations, strict=True):
        rgb = read_photo(f)
        cut = _tight_on_black(rgb, obs)
        tight.append(cut if cut is not None else rgb)
        clutter.append(_small_in_clutter(rgb, patches, rng))
        mirrored.append(np.ascontiguousarray(rgb[:, ::-1]))
    return {
        "tight_on_black": observe_photos(tight, cache=False),
        "small_in_clutter": observe_photos(clutter, cache=False),
        "mirrored": observe_photos(mirrored, cache=False),
    }


def _evaluate(model: TrainedModel, sets: dict[str, list[HandObservation]], dev: PhotoDataset) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, obs in sets.items():
        right = model.predict_photos([], observations=obs) == dev.labels
        out[name] = _summary(right, dev.persons)
        out[name]["hands_found"] = float(np.mean([o.pose is not None for o in obs]))
    return out


def _lopo(trainer_params: dict[str, Any], photos: PhotoDataset, observations: Sequence[HandObservation],
          fit: Any, seed: int) -> dict[str, Any]:  # fmt: skip
    """Leave-one-person-out: train on Sign MNIST + the other persons, read the held-out one."""
    out: dict[str, Any] = {}
    index = {f: i for i, f in enumerate(photos.files)}
    for person, others, held in photos.leave_one_person_out():
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for f in others.files:  # a folder of links: the trainer reads folders
                link = root / f.relative_to(photos.root)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(f)
            lines = ["# file\tperson\tsource"] + [
                f"{f.relative_to(photos.root).as_posix()}\t{p}\t{s}"
                for f, p, s in zip(others.files, others.persons, others.sources, strict=True)
            ]
            (root / "SOURCES.tsv").write_text("\n".join(lines) + "\n")
            model = get_trainer("photo", **{**trainer_params, "photos_train": str(root)}).fit(fit, seed=seed).model
        held_obs = [observations[index[f]] for f in held.files]
        right = model.predict_photos([], observations=held_obs) == held.labels
        out[person] = {"n": len(right), "accuracy": float(right.mean()),
                       "ci95": list(wilson_interval(int(right.sum()), len(right)))}  # fmt: skip
        logger.info("LOPO %s: %.3f of %d", person, right.mean(), len(right))
    return out


def _markdown(result: dict[str, Any]) -> str:
    lines = [f"# Photo recogniser on unseen people ({result['date']})", "",
             f"`{result['command']}` on {result['cpu']} ({result['cores']} cores).", "",
             "## Detection recall (learned detector found a hand)", "",
             "| set | source | recall |", "|---|---|---|"]  # fmt: skip
    for name in ("dev", "train"):
        for source, r in result["recall"][name]["per_source"].items():
            lines.append(f"| {name} | {source} | {r:.1%} |")
    if "lopo" in result:
        lines += ["", "## Leave-one-person-out on the training photos", "", "| person | n | accuracy | 95% CI |",
                  "|---|---|---|---|"]  # fmt: skip
        for p, r in result["lopo"].items():
            lines.append(f"| {p} | {r['n']} | {r['accuracy']:.1%} | {r['ci95'][0]:.1%}-{r['ci95'][1]:.1%} |")
    lines += ["", "## Development photos (3 people), per condition", ""]
    for variant, conds in result["dev"].items():
        lines += [f"### {variant}", "", "| condition | hands found | overall | " +
                  " | ".join(next(iter(conds.values()))["per_person"]) + " |",
                  "|---|---|---|" + "---|" * len(next(iter(conds.values()))["per_person"])]  # fmt: skip
        for cond, r in conds.items():
            people = " | ".join(f"{v['accuracy']:.1%} ({v['ci95'][0]:.0%}-{v['ci95'][1]:.0%})"
                                for v in r["per_person"].values())  # fmt: skip
            lines.append(f"| {cond} | {r['hands_found']:.1%} | {r['accuracy']:.1%} | {people} |")
        lines.append("")
    if "deployed" in result:
        d = result["deployed"]
        lines += ["## The saved recogniser (with the pixel expert)", "",
                  f"- test file accuracy: {d['test_accuracy']:.4f}", f"- size on disk: {d['size_mb']:.2f} MB",
                  f"- fusion weight of the pose expert: {d['photo_weight']}",
                  "- end to end per photo (decode, detect, classify; one at a time): "
                  f"median {d['ms_per_photo_p50']:.1f} ms, p90 {d['ms_per_photo_p90']:.1f} ms", ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path,
                        default=Path(os.environ.get("ASL_PHOTOS_DIR", SHARED_DATA / "asl-photos-dev")))
    parser.add_argument("--train-photos", type=Path,
                        default=Path(os.environ.get("ASL_PHOTOS_TRAIN", SHARED_DATA / "asl-photos-train")))
    parser.add_argument("--pixel", type=Path, default=None, help="a saved 28x28 model as pixel expert")
    parser.add_argument("--skip-lopo", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "photo_native")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    train_csv = load_dataset("train")
    fit, validation = train_csv.split_validation(fraction=0.2, seed=0)
    dev, photos = load_photo_dataset(args.dev), load_photo_dataset(args.train_photos)
    dev_obs = observe_photos(list(dev.files))
    train_obs = observe_photos(list(photos.files))
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "command": shlex.join(["python", "benchmarks/bench_photo_native.py", *sys.argv[1:]]),
        "recall": {"dev": _recall(dev_obs, dev), "train": _recall(train_obs, photos)},
    }
    sets = {"plain": dev_obs, **_conditions(dev, dev_obs, photos, args.seed)}
    result["dev"] = {}
    pixel = load_model(args.pixel) if args.pixel is not None else None
    for variant, folder in (("sign_mnist_only", None), ("with_training_photos", args.train_photos)):
        t = time.perf_counter()
        trained = get_trainer("photo", photos_train=folder, pixel=pixel).fit(fit, validation=validation, seed=args.seed)
        logger.info("%s: trained in %.0f s; %s", variant, time.perf_counter() - t, trained.metrics)
        result["dev"][variant] = _evaluate(trained.model, sets, dev)
        result.setdefault("training", {})[variant] = {"metrics": trained.metrics, "timings": trained.timings}
        if variant == "with_training_photos" and pixel is not None:
            saved = trained.model.save(Path(tempfile.mkdtemp()) / "photo")
            model = load_model(saved)
            test = load_dataset("test")
            times = []
            for f in dev.files[::10]:
                t0 = time.perf_counter()
                model.predict_photos([f])
                times.append(1000 * (time.perf_counter() - t0))
            result["deployed"] = {
                "test_accuracy": float((model.predict(test.images) == test.labels).mean()),
                "size_mb": directory_size(saved) / 1e6,
                "photo_weight": model.metadata.hyperparameters.get("photo_weight"),
                "ms_per_photo_p50": float(np.median(times)),
                "ms_per_photo_p90": float(np.percentile(times, 90)),
            }
    if not args.skip_lopo:
        result["lopo"] = _lopo({"pixel": None}, photos, train_obs, fit, args.seed)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2, default=float))
    atomic_write_text(args.out.with_suffix(".md"), _markdown(result))
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
