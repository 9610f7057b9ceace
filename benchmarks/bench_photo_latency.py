"""Per-photo latency of the photo path, stage by stage, one photo at a time, in this process.

Run by hand (it never asserts)::

    python benchmarks/bench_photo_latency.py MODEL_DIR            # e.g. outputs/<job>/best
    python benchmarks/bench_photo_latency.py MODEL_DIR --n 50 --out benchmarks/results/photo_latency

For a synthetic 640x480 JPEG (the first dev photo resized, as ``bench_oip.py`` sends) and ``--n``
dev photos (evenly spread over ``$ASL_PHOTOS_DIR``), each sent as encoded bytes to
``model.predict_photos([photo])``, the median wall-clock and CPU milliseconds of:

* ``decode``: open, pixel limit, draft decoding, EXIF orientation;
* ``colour``: the RGB pixels and the colour-photo check;
* ``find hand``: the learned detector (and its fallbacks), with its network invocations
  (``palm model``, ``landmark model``: time and count) shown separately;
* ``crop``: the rest of the observation (28x28 crop, hand mask, contrast);
* ``classify``: the model on the observation (end to end minus the observation);
* ``end to end``: ``predict_photos([bytes])``.

The model is loaded twice: as ``load_model(dir)`` does (the flavours' own runtimes: a Keras
pixel expert runs in Keras) and as the service loads it (``prefer="onnx"``: ONNX exports through
onnxruntime). Results go to ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from asl_recognition._io import atomic_write_text  # noqa: E402
from asl_recognition.models import load_model  # noqa: E402
from asl_recognition.photo import handpose, observe, pipeline  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cnn import cpu_model  # noqa: E402

Clock = dict[str, list[float]]  # stage -> [wall s, cpu s, calls]


@contextmanager
def _timed(owner: Any, name: str, stage: str, clock: Clock) -> Iterator[None]:
    """Time every call of ``owner.name`` into ``clock[stage]`` while the block runs."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            entry = clock.setdefault(stage, [0.0, 0.0, 0])
            entry[0] += time.perf_counter() - wall
            entry[1] += time.process_time() - cpu
            entry[2] += 1

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def _timed_networks(clock: Clock) -> Iterator[None]:
    """Time the hand detector's network invocations (``_Model.__call__``), palm and landmark apart."""
    models = handpose._models()
    if models is None:
        yield
        return
    stages = {id(models[0]): "  palm model", id(models[1]): "  landmark model"}
    original = handpose._Model.__call__

    def call(self: Any, x: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, x)
        finally:
            entry = clock.setdefault(stages.get(id(self), "  other model"), [0.0, 0.0, 0])
            entry[0] += time.perf_counter() - wall
            entry[1] += time.process_time() - cpu
            entry[2] += 1

    handpose._Model.__call__ = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        handpose._Model.__call__ = original  # type: ignore[method-assign]


def _one(model: Any, photo: bytes) -> Clock:
    """The clock of one ``predict_photos([photo])``."""
    clock: Clock = {}
    with (_timed(observe, "decode_image", "decode", clock), _timed(observe, "colour_photo", "colour", clock),
          _timed(pipeline, "find_hand", "find hand", clock), _timed(observe, "observe_photo", "observation", clock),
          _timed(model, "predict_photos", "end to end", clock), _timed_networks(clock)):  # fmt: skip
        model.predict_photos([photo])
    obs, e2e = clock.pop("observation"), clock["end to end"]
    inner = [clock.get(s, [0.0, 0.0, 0]) for s in ("decode", "colour", "find hand")]
    clock["crop"] = [obs[0] - sum(x[0] for x in inner), obs[1] - sum(x[1] for x in inner), 1]
    clock["classify"] = [e2e[0] - obs[0], e2e[1] - obs[1], 1]
    return clock


ORDER = ("decode", "colour", "find hand", "  palm model", "  landmark model", "crop", "classify", "end to end")


def _summary(clocks: list[Clock]) -> dict[str, dict[str, float]]:
    out = {}
    for stage in ORDER:
        rows = [c.get(stage, [0.0, 0.0, 0]) for c in clocks]
        out[stage] = {
            "wall_ms_p50": round(1000 * statistics.median(r[0] for r in rows), 2),
            "cpu_ms_p50": round(1000 * statistics.median(r[1] for r in rows), 2),
            "calls_mean": round(statistics.mean(r[2] for r in rows), 2),
        }
    return out


def _photos(photos_dir: Path, n: int) -> tuple[bytes, list[bytes]]:
    from PIL import Image

    files = sorted(p for p in photos_dir.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    out = io.BytesIO()
    Image.open(files[0]).convert("RGB").resize((640, 480)).save(out, format="JPEG", quality=90)
    step = max(1, len(files) // n)
    return out.getvalue(), [f.read_bytes() for f in files[::step][:n]]


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Photo latency, stage by stage (one photo at a time, in-process)",
        "",
        f"CPU: {result['cpu']} ({result['cpus']} CPUs); {result['started']}; load average "
        f"{result['load_average']['before']:.2f} before, {result['load_average']['after']:.2f} after; "
        f"model `{result['model']}`. Command: `{result['command']}`.",
        "",
        "Median wall / CPU milliseconds per photo; `palm model` and `landmark model` are the "
        "network invocations inside `find hand` (mean calls per photo in brackets).",
        "",
    ]
    for runtime, sets in result["runs"].items():
        for name, stages in sets.items():
            lines += [f"## {name}, loaded {runtime}", "", "| stage | wall ms | CPU ms |", "|---|---|---|"]
            for stage, row in stages.items():
                calls = f" (x{row['calls_mean']:g})" if stage.startswith("  ") else ""
                lines.append(f"| {stage.strip()}{calls} | {row['wall_ms_p50']} | {row['cpu_ms_p50']} |")
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a saved model directory (e.g. the deployed photo model)")
    parser.add_argument("--photos", type=Path,
                        default=Path(os.environ.get("ASL_PHOTOS_DIR", ROOT.parent / "shared/data/asl-photos-dev")))
    parser.add_argument("--n", type=int, default=50, help="dev photos")
    parser.add_argument("--repeat", type=int, default=30, help="runs of the synthetic photo")
    parser.add_argument("--out", type=Path, default=RESULTS / "photo_latency")
    args = parser.parse_args(argv)
    synthetic, dev = _photos(args.photos, args.n)
    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {
        "cpu": cpu_model(), "cpus": len(os.sched_getaffinity(0)), "model": str(args.model),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python", "benchmarks/bench_photo_latency.py", *(argv or sys.argv[1:])]), "runs": {},
    }  # fmt: skip
    for runtime, prefer in (("as load_model(dir)", None), ('as the service (prefer="onnx")', "onnx")):
        model = load_model(args.model, prefer=prefer)
        for _ in range(3):  # warm-up: first calls trace and allocate
            model.predict_photos([synthetic])
        result["runs"][runtime] = {
            "synthetic 640x480 JPEG": _summary([_one(model, synthetic) for _ in range(args.repeat)]),
            f"{len(dev)} dev photos": _summary([_one(model, photo) for photo in dev]),
        }
    result["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2))
    atomic_write_text(args.out.with_suffix(".md"), _markdown(result))
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
