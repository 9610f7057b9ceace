"""Serving benchmark for both protocols: ``/score`` (azmlinfsrv) and OIP v2 (KServe), real HTTP.

Run by hand (it never asserts)::

    python benchmarks/bench_oip.py            # full
    python benchmarks/bench_oip.py --quick    # validation run: 1/10 of the requests

Scenarios, each through ``/score`` (:class:`~asl_recognition.deploy.local.LocalDeployer`) and
through OIP v2 (:class:`~asl_recognition.deploy.oip.OipDeployer`), default workers, 127.0.0.1:

* pixels: a scikit-learn pipeline (ONNX, as in ``bench_serving.py``), one real Sign MNIST row
  per request: 10,000 requests at concurrency 16 and 1,000 at concurrency 1;
* photo: a photo-native model (trained here on Sign MNIST alone: the serving cost, hand
  detection included, does not depend on its training photos), one 640x480 JPEG per request
  at concurrency 8: base64 in JSON through both protocols, and its raw bytes as a binary BYTES
  tensor (OIP's binary tensor extension, as ``tritonclient`` sends it) through OIP;
* cnn: a small CNN (one epoch) served by Keras (``runtime="native"``) and through its ONNX
  export (``runtime="fastest"``, the default), one row per request at concurrency 16 and 1.

The load generator (``benchmarks/_loadgen.py``) runs in its own process, on the same CPUs as
the server. Results go to ``benchmarks/results/oip.json`` and ``oip.md``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import RESULTS, build_models, loadgen

from asl_recognition._io import atomic_write_text
from asl_recognition.deploy import get_deployer

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _pixels_body(protocol: str, row: np.ndarray) -> bytes:
    if protocol == "oip":
        tensor = {"name": "pixels", "datatype": "UINT8", "shape": [1, 784], "data": row.astype(int).tolist()}
        return json.dumps({"inputs": [tensor]}).encode()
    return json.dumps({"data": [row.astype(int).tolist()]}).encode()


def _photo_body(protocol: str, jpeg: bytes) -> bytes:
    encoded = base64.b64encode(jpeg).decode("ascii")
    if protocol == "oip":
        tensor = {"name": "images", "datatype": "BYTES", "shape": [1], "data": [encoded]}
        return json.dumps({"inputs": [tensor]}).encode()
    return json.dumps({"images": [encoded]}).encode()


def _letters(protocol: str, answer: dict[str, Any]) -> list[str]:
    if protocol == "oip":
        return list(next(o for o in answer["outputs"] if o["name"] == "letter")["data"])
    return list(answer["letters"])


def _photo_binary(jpeg: bytes) -> tuple[bytes, dict[str, str]]:
    """An OIP request with the photo's raw bytes as a binary BYTES tensor, and its extra header."""
    element = struct.pack("<I", len(jpeg)) + jpeg
    tensor = {"name": "images", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(element)}}
    head = json.dumps({"inputs": [tensor]}).encode()
    return head + element, {"Inference-Header-Content-Length": str(len(head))}


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    import requests

    resp = requests.post(url, data=body, headers={"Content-Type": "application/json", **(headers or {})},
                         timeout=120)  # fmt: skip
    resp.raise_for_status()
    return resp.json()


def _serve(protocol: str, model_dir: Path, **params: Any) -> Any:
    return get_deployer("oip" if protocol == "oip" else "local", **params).deploy(model_dir)


def run_scenario(
    name: str, model_dir: Path, body_for: Callable[[str], bytes], runs: list[tuple[int, int]], workdir: Path,
    *, protocols: tuple[str, ...] = ("score", "oip"), headers: dict[str, str] | None = None, **params: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    """Serve ``model_dir`` per protocol and run the loadgen ``runs`` ((requests, concurrency))."""
    rows: list[dict[str, Any]] = []
    for protocol in protocols:
        svc = _serve(protocol, model_dir, **params)
        try:
            body = body_for(protocol)
            letters = _letters(protocol, _post(svc.scoring_uri, body, headers))
            loadgen(svc.scoring_uri, body, 50, 4, workdir, headers)  # warm-up
            for n, concurrency in runs:
                result = loadgen(svc.scoring_uri, body, n, concurrency, workdir, headers)
                rows.append({"scenario": name, "protocol": protocol, "letters": letters,
                             "workers": getattr(svc, "_workers", None), **params, **result})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
        finally:
            svc.delete()
    return rows


def _photo_jpeg(photos_dir: Path) -> bytes:
    from PIL import Image

    first = sorted(p for p in photos_dir.rglob("*.jpg"))[0]
    out = io.BytesIO()
    Image.open(first).convert("RGB").resize((640, 480)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _photo_model(workdir: Path) -> Path:
    """A photo-native model trained on Sign MNIST alone: what it costs to serve, not how well it reads."""
    from asl_recognition import get_trainer
    from asl_recognition.data import load_dataset

    fit, validation = load_dataset("train").split_validation(fraction=0.2, seed=0)
    trainer = get_trainer("photo", pixel=None, mnist_stride=20, hidden=[64], max_iter=80)
    return Path(trainer.fit(fit, validation=validation, seed=0).model.save(workdir / "photo"))


def _cnn_model(workdir: Path) -> Path:
    from asl_recognition import get_trainer
    from asl_recognition.data import load_dataset

    train = load_dataset("train")
    small = train.subset(np.arange(0, len(train), 4))
    model = get_trainer("cnn", epochs=1, augment=False, batch_size=128).fit(small, seed=0).model
    return Path(model.save(workdir / "cnn"))


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Serving benchmark: /score and OIP v2",
        "",
        f"CPU: {results['cpu']} ({results['cpus']} CPUs); quick run: {results['quick']}; "
        f"{results['started']}; load average {results['load_average']['before']:.1f} before, "
        f"{results['load_average']['after']:.1f} after. The load generator runs in its own process on "
        "the same CPUs as the server (a load average above 1 before the run means other work shared them). "
        "Each request opens its own connection (Connection: close).",
        "",
        "| scenario | protocol | served by | workers | concurrency | requests | errors | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['scenario']} | {r['protocol']} | {r.get('runtime', 'fastest')} | {r.get('workers', 'default')} "
            f"| {r['concurrency']} | {r['requests']} | {r['errors']} | {r['throughput_rps']} | {r['p50_ms']} "
            f"| {r['p99_ms']} |"
        )
    lines += ["", "Same letters through both protocols: " + str(results["same_letters"]), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=["pixels", "photo", "cnn"])
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-oip-") as tmp:
        workdir = Path(tmp)
        if "pixels" not in args.skip:
            sk_dir, _seed, test, _source = build_models(workdir, 5000)
            row = test.to_numpy()[0]
            runs += run_scenario("pixels", sk_dir, lambda p: _pixels_body(p, row),
                                 [(10_000 // scale, 16), (1_000 // scale, 1)], workdir)  # fmt: skip
        if "photo" not in args.skip:
            photos_dir = Path(os.environ.get("ASL_PHOTOS_DIR", ROOT.parent / "shared" / "data" / "asl-photos-dev"))
            jpeg = _photo_jpeg(photos_dir)
            photo_dir = _photo_model(workdir)
            runs += run_scenario("photo 640x480 JPEG", photo_dir, lambda p: _photo_body(p, jpeg),
                                 [(1_000 // scale, 8)], workdir)  # fmt: skip
            binary, headers = _photo_binary(jpeg)
            runs += run_scenario("photo 640x480 JPEG, raw bytes", photo_dir, lambda p: binary,
                                 [(1_000 // scale, 8)], workdir, protocols=("oip",), headers=headers)  # fmt: skip
        if "cnn" not in args.skip:
            cnn_dir = _cnn_model(workdir)
            from asl_recognition.data import load_dataset

            test_row = np.asarray(load_dataset("test").images[0]).reshape(-1)
            for runtime in ("native", "fastest"):
                runs += run_scenario(f"cnn ({'Keras' if runtime == 'native' else 'ONNX export'})", cnn_dir,
                                     lambda p: _pixels_body(p, test_row), [(2_000 // scale, 16), (500 // scale, 1)],
                                     workdir, runtime=runtime)  # fmt: skip
    same = all(
        len({tuple(r["letters"]) for r in runs if r["scenario"] == s}) == 1 for s in {r["scenario"] for r in runs}
    )
    results = {"cpu": _cpu(), "cpus": len(os.sched_getaffinity(0)), "quick": args.quick, "started": started,
               "python": platform.python_version(), "same_letters": same, "runs": runs,
               "load_average": {"before": load_before, "after": os.getloadavg()[0]}}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "oip.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(RESULTS / "oip.md", _markdown(results))
    print(_markdown(results))


if __name__ == "__main__":
    main()
