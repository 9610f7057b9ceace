"""Benchmark the Keras CNN backend on Sign Language MNIST (run by hand; never asserts).

Parts (``--parts``, comma-separated; default all):

``default``   conf/trainer/cnn.yaml, seeds ``--seeds`` (0,1,2), trained on the whole training
              file (a fixed configuration needs no validation split): test accuracy (last
              epoch, no selection on the test file), full training time, model size, prediction
              time
``fast``      conf/trainer/cnn_fast.yaml, seed 0, trained on the leak-free fit part and
              validated on its split, as in the default main job
``seed``      the seed study's search space (conf/sweep/seed_local.yaml, reduced budget) on the
              seed network: the best trial's test accuracy, plus that configuration retrained
              and scored on a random (leaky) 20 % split of the training file, as the seed did
``backends``  one epoch of the default network on the tensorflow and the torch Keras backends

The other parts train on the leak-free fit part (seed 0) of the training file and select on its
validation split; the test file is only ever scored. Results go to benchmarks/results/cnn.json
and cnn.md; a run of some parts keeps the stored results of the others::

    python benchmarks/bench_cnn.py                       # everything (~30 min on 2 quiet cores)
    python benchmarks/bench_cnn.py --parts fast,backends
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

import numpy as np
from omegaconf import OmegaConf

from asl_recognition._io import atomic_write_text
from asl_recognition.data import Dataset, load_dataset
from asl_recognition.models import TrainedModel, load_model
from asl_recognition.trainers.base import get_trainer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
log = logging.getLogger("bench_cnn")


def cpu_model() -> str:
    """The CPU's model name (timings differ ~3x between the machines this project runs on)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def trainer_params(key: str, **overrides: Any) -> dict[str, Any]:
    """``params`` of conf/trainer/<key>.yaml with ``overrides``."""
    cfg: Any = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "trainer" / f"{key}.yaml"))
    return {**cfg[key]["params"], **overrides}


def accuracy(model: TrainedModel, ds: Dataset) -> float:
    return float(np.mean(model.predict(ds.images) == ds.labels))


def predict_seconds(model: TrainedModel, ds: Dataset) -> float:
    model.predict(ds.images[:256])  # warm-up
    start = time.perf_counter()
    model.predict(ds.images)
    return time.perf_counter() - start


def run_config(key: str, seed: int, data: tuple[Dataset, Dataset | None, Dataset], out: Path,
               **overrides: Any) -> dict[str, Any]:
    fit_part, val, test = data
    trainer = get_trainer("cnn", **trainer_params(key, **overrides))
    start = time.perf_counter()
    result = trainer.fit(fit_part, validation=val, seed=seed)
    wall = time.perf_counter() - start
    saved = result.model.save(out / f"{key}_seed{seed}")
    keras_model = load_model(saved)
    onnx_model = load_model(saved, prefer="onnx")
    history = result.model.metadata.extra.get("history", [])
    row = {
        "config": key, "seed": seed, "train_images": len(fit_part),
        "test_accuracy": accuracy(keras_model, test),
        "test_accuracy_onnx": accuracy(onnx_model, test),
        "validation_accuracy": result.metrics.get("validation_accuracy"),
        "fit_wall_s": round(wall, 1), "train_s": result.timings.get("train_s"),
        "epoch_s": [h.get("epoch_s") for h in history],
        "model_dir_bytes": keras_model.size_bytes(),
        "keras_file_bytes": (saved / "model.keras").stat().st_size,
        "onnx_file_bytes": (saved / "model.onnx").stat().st_size,
        "parameters": result.model.metadata.extra.get("parameters"),
        "predict_test_s_keras": round(predict_seconds(keras_model, test), 3),
        "predict_test_s_onnx": round(predict_seconds(onnx_model, test), 3),
        "hyperparameters": result.hyperparameters,
    }
    log.info("%s seed %d: test %.4f (val %s) in %.0f s", key, seed, row["test_accuracy"],
             row["validation_accuracy"], wall)
    return row


def run_seed_sweep(data: tuple[Dataset, Dataset, Dataset], train: Dataset, out: Path) -> dict[str, Any]:
    fit_part, val, test = data
    params = trainer_params("cnn_seed", workdir=str(out / "seed_sweep"))
    start = time.perf_counter()
    result = get_trainer("cnn", **params).fit(fit_part, validation=val, seed=0)
    wall = time.perf_counter() - start
    best = {k: result.hyperparameters[k] for k in ("hidden", "batch_size", "epochs", "dropout")}
    # the seed's own protocol: a random 80/20 split of the training file (near-duplicates leak)
    leaky_fit, leaky_val = train.split_validation(0.2, seed=0, method="random")
    retrain = {k: v for k, v in params.items() if k not in ("sweep", "workdir")}
    leaky = get_trainer("cnn", **{**retrain, **best}).fit(leaky_fit, validation=leaky_val, seed=0)
    return {
        "best_params": best,
        "best_validation_accuracy_leak_free": result.metrics.get("validation_accuracy"),
        "best_test_accuracy": accuracy(result.model, test),
        "leaky_split_accuracy": leaky.metrics.get("validation_accuracy"),
        "leaky_model_test_accuracy": accuracy(leaky.model, test),
        "sweep_wall_s": round(wall, 1),
        "keras_file_bytes": (Path(result.model.source_dir or ".") / "model.keras").stat().st_size
        if result.model.source_dir else None,
        "trials": [t.to_dict() for t in result.trials],
    }


def run_backends(data: tuple[Dataset, Dataset, Dataset], n_images: int) -> dict[str, Any]:
    fit_part, val, _ = data
    part = fit_part.subset(slice(0, n_images)) if n_images < len(fit_part) else fit_part
    rows = {}
    for backend in ("tensorflow", "torch"):
        params = trainer_params("cnn", epochs=2, backend=backend)
        result = get_trainer("cnn", **params).fit(part, validation=val, seed=0)
        hist = result.model.metadata.extra["history"]
        epoch_s = [h["epoch_s"] for h in hist]
        rows[backend] = {"images": len(part), "epoch_s": epoch_s,
                         "s_per_epoch_full_fit_part": round(epoch_s[-1] * len(fit_part) / len(part), 1)}
        log.info("%s: epoch times %s on %d images", backend, epoch_s, len(part))
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _stamp(part: dict[str, Any]) -> str:
    return f"Machine: {part.get('machine', '?')}; {part.get('when', '?')}.\n"


def markdown(res: dict[str, Any]) -> str:
    lines = ["# Keras CNN benchmark", ""]
    for part in ("default", "fast"):
        if part not in res:
            continue
        images = res[part]["runs"][0].get("train_images", "?")
        lines += [f"## {part} (trained on {images} images)", "", _stamp(res[part]),
                  "| seed | test acc | test acc (ONNX) | val acc | fit s | .keras MB | dir MB | "
                  "predict 7,172 s (keras / onnx) |", "|---|---|---|---|---|---|---|---|"]
        for r in res[part]["runs"]:
            lines.append(
                f"| {r['seed']} | {r['test_accuracy']:.4f} | {r['test_accuracy_onnx']:.4f} | "
                f"{_fmt(r['validation_accuracy'])} | {r['fit_wall_s']:.0f} | {r['keras_file_bytes'] / 1e6:.2f} | "
                f"{r['model_dir_bytes'] / 1e6:.2f} | "
                f"{r['predict_test_s_keras']:.2f} / {r['predict_test_s_onnx']:.2f} |")
        accs = [r["test_accuracy"] for r in res[part]["runs"]]
        lines += ["", f"mean test accuracy {np.mean(accs):.4f}, min {np.min(accs):.4f}", ""]
    if "seed" in res:
        s = res["seed"]
        lines += ["## seed search space (reduced local budget)", "", _stamp(s),
                  f"- best params: {s['best_params']}",
                  f"- leak-free validation accuracy: {s['best_validation_accuracy_leak_free']:.4f}",
                  f"- **test accuracy of the best trial: {s['best_test_accuracy']:.4f}**",
                  f"- same config on the seed's leaky random split: {s['leaky_split_accuracy']:.4f} "
                  f"(test {s['leaky_model_test_accuracy']:.4f})",
                  f"- {len(s['trials'])} trials, {sum(t['state'] == 'pruned' for t in s['trials'])} pruned, "
                  f"{s['sweep_wall_s']:.0f} s", ""]
    if "backends" in res:
        lines += ["## Keras backends (default network, 2 epochs; the 2nd is the steady-state one)", "",
                  _stamp(res["backends"])]
        for name, r in res["backends"].items():
            if not isinstance(r, dict):
                continue
            lines.append(f"- {name}: {r['epoch_s']} s on {r['images']} images "
                         f"(~{r['s_per_epoch_full_fit_part']} s per epoch of the full fit part)")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--parts", default="default,fast,seed,backends")
    p.add_argument("--seeds", default="0,1,2", help="seeds of the default part")
    p.add_argument("--fast_seeds", default="0", help="seeds of the fast part")
    p.add_argument("--data_dir", default=os.environ.get("ASL_DATA_DIR")
                   or str(ROOT.parent / "shared" / "data" / "sign-language-mnist"))
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--backend_images", type=int, default=10**9,
                   help="images per epoch for the backends part (default: the whole fit part)")
    args = p.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(name)s %(message)s")
    parts = set(args.parts.split(","))
    train = load_dataset("train", data_dir=args.data_dir)
    test = load_dataset("test", data_dir=args.data_dir)
    fit_part, val = train.split_validation(0.2, seed=0)
    data = (fit_part, val, test)
    out = Path(args.out)
    models = out / "cnn_models"
    previous = out / "cnn.json"
    res: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    stamp = {"machine": f"{cpu_model()}, {os.cpu_count()} CPUs", "when": time.strftime("%Y-%m-%d %H:%M")}
    res.update(stamp)  # of the latest run; each part keeps its own (parts may come from other machines)
    if "default" in parts:
        res["default"] = {"runs": [run_config("cnn", int(s), (train, None, test), models)
                                   for s in args.seeds.split(",")], **stamp}
    if "fast" in parts:
        res["fast"] = {"runs": [run_config("cnn_fast", int(s), data, models)
                                for s in args.fast_seeds.split(",")], **stamp}
    if "seed" in parts:
        res["seed"] = {**run_seed_sweep(data, train, models), **stamp}
    if "backends" in parts:
        res["backends"] = {**run_backends(data, args.backend_images), **stamp}
    atomic_write_text(out / "cnn.json", json.dumps(res, indent=2, default=str))
    atomic_write_text(out / "cnn.md", markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
