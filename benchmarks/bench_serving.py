"""Serving benchmark: our scoring path vs the seed's AutoML-style path, same server, same model.

Run by hand (it never asserts)::

    python benchmarks/bench_serving.py            # full: 10,000 requests per scenario
    python benchmarks/bench_serving.py --quick    # validation run: 1/10 of the requests

Both paths run in the Azure ML inference server (``azmlinfsrv``, gunicorn, ``--workers``
workers) on 127.0.0.1 and serve the same scikit-learn pipeline (MaxAbsScaler + logistic
regression, trained on the first rows of the training file, or synthetic data without it):

* ours: ``asl_recognition/deploy/score.py`` with the pipeline exported to ONNX (the ``onnx``
  model type), requests in the seed's ``{"data": [{"pixel1": ...}]}`` format;
* seed: ``benchmarks/seed_score.py`` (inference-schema ``PandasParameterType`` over 784 columns,
  joblib pipeline, ``json.dumps`` answer), the same request bodies.

The load generator (``benchmarks/_loadgen.py``) runs in a separate process. Results go to
``benchmarks/results/serving.json`` and ``serving.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asl_recognition._io import atomic_write_text
from asl_recognition.deploy._process import stop_group as _stop_group
from asl_recognition.deploy._requests import PIXEL_KEYS
from asl_recognition.deploy.local import LocalDeployer, default_workers

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _data_dir() -> Path:
    env = os.environ.get("ASL_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data" / "sign-language-mnist"


def _load(train_rows: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, str]:
    d = _data_dir()
    if (d / "sign_mnist_train.csv").is_file():
        train = pd.read_csv(d / "sign_mnist_train.csv", nrows=train_rows)
        test = pd.read_csv(d / "sign_mnist_test.csv", nrows=64)
        return train[PIXEL_KEYS], train["label"].to_numpy(), test[PIXEL_KEYS], f"{d} (first {train_rows} rows)"
    rng = np.random.default_rng(0)
    labels = np.tile([lab for lab in range(25) if lab != 9], train_rows // 24 + 1)[:train_rows]
    x = pd.DataFrame(rng.integers(0, 256, (train_rows, 784)), columns=PIXEL_KEYS)
    return x, labels, x.iloc[:64], "synthetic (real data not found)"


def build_models(workdir: Path, train_rows: int) -> tuple[Path, Path, pd.DataFrame, str]:
    """Train one pipeline; save it as our ONNX model dir and as the seed's joblib file."""
    import joblib  # type: ignore[import-untyped]
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler

    from asl_recognition.models import ModelMetadata
    from asl_recognition.models.onnx import OnnxModel

    x, y, test, source = _load(train_rows)
    pipe = make_pipeline(MaxAbsScaler(), LogisticRegression(max_iter=200)).fit(x, y)
    seed_dir = workdir / "seed-model"
    seed_dir.mkdir()
    joblib.dump(pipe, seed_dir / "model.pkl")
    plain = make_pipeline(MaxAbsScaler(), LogisticRegression(max_iter=1))
    plain.steps = [(n, s) for n, s in pipe.steps]  # same fitted steps, fed arrays not frames
    sample = x.to_numpy(dtype=np.float32)[:1]
    onx = to_onnx(plain, sample, options={id(pipe.steps[-1][1]): {"zipmap": False}})
    meta = ModelMetadata.create(
        model_type="onnx",
        backend="sklearn",
        labels=tuple(int(c) for c in pipe.classes_),
        extra={"onnx": {"input_layout": "flat"}},
    )
    ours_dir = OnnxModel(metadata=meta, onnx_bytes=onx.SerializeToString()).save(workdir / "ours-model")
    return ours_dir, seed_dir, test, source


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def seed_server(model_dir: Path, workers: int, workdir: Path) -> Any:
    """The seed scoring script in the same inference server (started like the local deployer)."""
    port = _free_port()
    log = open(workdir / "seed-server.log", "wb")  # noqa: SIM115 - closed in finally
    env = dict(os.environ, AML_APP_ROOT=str(workdir), AZUREML_MODEL_DIR=str(model_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "asl_recognition.deploy._server", "--host", "127.0.0.1", "--",
         "--entry_script", str(ROOT / "benchmarks" / "seed_score.py"), "--model_dir", str(model_dir),
         "--port", str(port), "--worker_count", str(workers)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = (workdir / "seed-server.log").read_text(errors="replace")
            if text.count("ready for serving traffic") >= workers:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"seed server failed:\n{text[-3000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/score"
    finally:
        _stop_group(proc)
        log.close()


def loadgen(url: str, body: bytes, n: int, concurrency: int, workdir: Path,
            headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run benchmarks/_loadgen.py in its own process and return its JSON result."""
    body_file = workdir / "body.bin"
    body_file.write_bytes(body)
    extra = [arg for name, value in (headers or {}).items() for arg in ("--header", f"{name}: {value}")]
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "_loadgen.py"), "--url", url,
         "--body-file", str(body_file), "--requests", str(n), "--concurrency", str(concurrency), *extra],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _check_answer(url: str, body: bytes) -> Any:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/10 of the requests (validation)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=default_workers(), help="server workers (both paths)")
    parser.add_argument("--train-rows", type=int, default=5000)
    args = parser.parse_args()
    n = args.requests // 10 if args.quick else args.requests
    seed_n = max(50, n // 20)  # the seed path is slow: fewer requests give the same precision
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "node": platform.node()},
        "workers": args.workers,
        "quick": args.quick,
        "scenarios": [],
    }
    with tempfile.TemporaryDirectory(prefix="asl-bench-") as tmp:
        workdir = Path(tmp)
        ours_dir, seed_dir, test, source = build_models(workdir, args.train_rows)
        results["data"] = source
        one = json.dumps({"data": [test.iloc[0].to_dict()]}).encode()
        many = json.dumps({"data": list(test.iloc[:64].to_dict(orient="index").values())}).encode()
        plans = [("1 image", one, 1, n // 10), ("1 image", one, 16, n), ("64 images", many, 16, n // 5)]
        service = LocalDeployer(workers=args.workers).deploy(ours_dir)
        try:
            ours_answer = _check_answer(service.scoring_uri, many)["result"]
            for label, body, conc, count in plans:
                r = loadgen(service.scoring_uri, body, count, conc, workdir)
                results["scenarios"].append({"path": "ours", "request": label, **r})
        finally:
            service.delete()
        with seed_server(seed_dir, args.workers, workdir) as url:
            seed_answer = json.loads(_check_answer(url, many))["result"]  # a JSON string in JSON
            for label, body, conc, _ in plans:
                r = loadgen(url, body, max(seed_n // (5 if label != "1 image" else 1), 20), conc, workdir)
                results["scenarios"].append({"path": "seed", "request": label, **r})
        results["same_predictions"] = ours_answer == seed_answer
    by = {(s["path"], s["request"], s["concurrency"]): s for s in results["scenarios"]}
    results["speedup_vs_seed"] = {
        f"{req} c={c}": round(by[("ours", req, c)]["throughput_rps"] / by[("seed", req, c)]["throughput_rps"], 1)
        for (_, req, c) in [k for k in by if k[0] == "ours"]
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "serving.json", json.dumps(results, indent=2))
    atomic_write_text(RESULTS / "serving.md", _markdown(results))
    sys.stdout.write(_markdown(results))


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Serving benchmark",
        "",
        f"Machine: {results['machine']}; server workers: {results['workers']}; "
        f"quick run: {results['quick']}; model data: {results['data']}; "
        f"same predictions on 64 test rows: {results['same_predictions']}.",
        "",
        "| path | request | concurrency | requests | errors | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        lines.append(
            f"| {s['path']} | {s['request']} | {s['concurrency']} | {s['requests']} | {s['errors']} | "
            f"{s['throughput_rps']} | {s['p50_ms']} | {s['p99_ms']} |"
        )
    lines += ["", "Throughput of ours / seed: "
              + ", ".join(f"{k}: {v}x" for k, v in results["speedup_vs_seed"].items()), ""]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
