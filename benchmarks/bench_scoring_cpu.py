"""CPU time per scoring request, measured in-process (robust to a busy machine).

Run by hand (it never asserts)::

    python benchmarks/bench_scoring_cpu.py            # writes benchmarks/results/scoring_cpu.{json,md}
    python benchmarks/bench_scoring_cpu.py --quick    # fewer iterations

Wall-clock load tests (``bench_serving.py``) need a quiet machine; CPU time per request does
not: it counts only the cycles this process spent, whatever else runs. Two levels:

* ``scorer``: :meth:`Scorer.handle` on a raw body (parse, validate, predict, encode the answer),
  the work ``score.run`` does for the inference server;
* ``server app``: the inference server's own Flask app (``azureml_inference_server_http``,
  the code each gunicorn worker runs) called as WSGI with ``score.py`` loaded, once with the
  local deployer's logging (``access_log=False``) and once with the server's default logging
  (one child process each: the server reads its configuration at import). gunicorn's HTTP
  parsing and socket calls are not included.

Bodies: the seed client's format (``{"data": [{"pixel1": ...}]}``) with 1 and 64 test rows,
the same model family as ``bench_serving.py`` (MaxAbsScaler + logistic regression as ONNX).
Each figure is the median of 5 repeats of ``--iterations`` requests; ``thread`` counts the
calling thread only, ``process`` adds helper threads (e.g. onnxruntime's pool).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))


def _measure(call: Callable[[], Any], iterations: int, repeats: int = 5) -> dict[str, float]:
    for _ in range(min(100, iterations)):
        call()
    proc: list[float] = []
    thread: list[float] = []
    for _ in range(repeats):
        p0, t0 = time.process_time(), time.thread_time()
        for _ in range(iterations):
            call()
        proc.append((time.process_time() - p0) / iterations * 1e3)
        thread.append((time.thread_time() - t0) / iterations * 1e3)
    return {"process_cpu_ms": round(statistics.median(proc), 4), "thread_cpu_ms": round(statistics.median(thread), 4)}


def _scorer(model_dir: Path, bodies: dict[str, bytes], iterations: dict[str, int]) -> dict[str, Any]:
    from asl_recognition.deploy._scoring import Scorer

    scorer = Scorer.from_environ({"AZUREML_MODEL_DIR": str(model_dir), "WORKER_COUNT": str(os.cpu_count() or 1)})
    out = {}
    for name, body in bodies.items():
        reply = scorer.handle(method="POST", body=body, content_type="application/json")
        assert reply.status == 200, reply.body[:200]
        out[name] = _measure(
            lambda body=body: scorer.handle(method="POST", body=body, content_type="application/json"),  # type: ignore[misc]
            iterations[name],
        )
    return out


def _wsgi_child(model_dir: str, body_file: str, iterations: int, access_log: bool) -> None:
    """In a fresh process: the inference server's WSGI app with score.py, called directly."""
    from asl_recognition.deploy._openapi import write_swagger_files

    app_root = tempfile.mkdtemp(prefix="asl-bench-app-")
    write_swagger_files(app_root)
    if not access_log:
        from asl_recognition.deploy._serverlog import write_logging_config

        write_logging_config(app_root, access_log=False)
    os.environ.update(
        AML_APP_ROOT=app_root,
        AZUREML_ENTRY_SCRIPT=str(ROOT / "asl_recognition" / "deploy" / "score.py"),
        AZUREML_MODEL_DIR=model_dir,
        SCORING_TIMEOUT_MS="30000",
        AML_APP_INSIGHTS_ENABLED="false",
        WORKER_COUNT=str(os.cpu_count() or 1),
    )
    real_stdout = os.dup(1)
    log = open(os.path.join(app_root, "server.log"), "wb")  # noqa: SIM115 - the server logs here
    os.dup2(log.fileno(), 1)
    from azureml_inference_server_http.server.entry import app

    body = Path(body_file).read_bytes()
    base = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/score", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5001", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.version": (1, 0), "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5001",
    }  # fmt: skip
    status: list[str] = []

    def call() -> None:
        environ = dict(base, **{"wsgi.input": io.BytesIO(body)})
        b"".join(app(environ, lambda s, h, e=None: status.append(s)))

    call()
    assert status[-1].startswith("200"), status[-1]
    result = _measure(call, iterations)
    os.write(real_stdout, (json.dumps(result) + "\n").encode())
    log.close()
    shutil.rmtree(app_root, ignore_errors=True)


def _wsgi(model_dir: Path, body: bytes, iterations: int, access_log: bool, workdir: Path) -> dict[str, float]:
    body_file = workdir / "wsgi-body.json"
    body_file.write_bytes(body)
    out = subprocess.run(
        [sys.executable, __file__, "--wsgi-child", str(model_dir), str(body_file), str(iterations),
         "1" if access_log else "0"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if sys.argv[1:2] == ["--wsgi-child"]:
        _wsgi_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the iterations")
    parser.add_argument("--train-rows", type=int, default=1000)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    from bench_serving import build_models

    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "node": platform.node()},
        "quick": args.quick,
    }
    with tempfile.TemporaryDirectory(prefix="asl-bench-cpu-") as tmp:
        workdir = Path(tmp)
        model_dir, _, test, source = build_models(workdir, args.train_rows)
        results["data"] = source
        bodies = {
            "1 image": json.dumps({"data": [test.iloc[0].to_dict()]}).encode(),
            "64 images": json.dumps({"data": list(test.iloc[:64].to_dict(orient="index").values())}).encode(),
        }
        iterations = {"1 image": 2000 // scale, "64 images": 100 // scale}
        results["scorer"] = _scorer(model_dir, bodies, iterations)
        results["server_app"] = {
            f"{name}, access_log={flag}": _wsgi(model_dir, bodies[name], iterations[name], flag, workdir)
            for name in bodies
            for flag in (False, True)
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    from asl_recognition._io import atomic_write_text

    atomic_write_text(RESULTS / "scoring_cpu.json", json.dumps(results, indent=2))
    atomic_write_text(RESULTS / "scoring_cpu.md", _markdown(results))
    sys.stdout.write(_markdown(results))


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# CPU time per scoring request (in-process)",
        "",
        f"Machine: {results['machine']}; quick run: {results['quick']}; model data: {results['data']}.",
        "",
        "| level | request | process CPU ms | calling-thread CPU ms |",
        "|---|---|---|---|",
    ]
    for level in ("scorer", "server_app"):
        for name, r in results[level].items():
            lines.append(f"| {level} | {name} | {r['process_cpu_ms']} | {r['thread_cpu_ms']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
