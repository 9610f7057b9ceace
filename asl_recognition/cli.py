"""The ``asl-recognition`` command (also ``python -m asl_recognition``).

Commands::

    asl-recognition [train] [hydra overrides]   the main job: train, compare, save, report
    asl-recognition compare models.a=DIR ...    compare saved models on the test file, report
    asl-recognition serve model=DIR             serve a model in the foreground (deployer=local)
    asl-recognition serve --protocol oip model=DIR   ... through the Open Inference Protocol (deployer=oip)
    asl-recognition deploy model=DIR deployer=aci   deploy and print the scoring URI
    asl-recognition predict IMAGE... [--model DIR | --uri URL [--protocol oip]] [--key KEY] [--top-k K]
    asl-recognition install-hand-models [--dest DIR] [--wheel FILE]   the photo hand detector's models

Everything but ``predict`` is a Hydra application: overrides (``trainer=[sklearn,svm]``,
``seed=1``), ``-m`` multirun, ``--cfg job`` and ``--help`` work as Hydra users expect. ``--quiet``
anywhere silences progress output.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from asl_recognition import progress
from asl_recognition.errors import AslRecognitionError, MissingDependencyError
from asl_recognition.registry import import_string

__all__ = ["conf_dir", "main"]

log = logging.getLogger(__name__)

_HYDRA_COMMANDS = {"train": "config", "compare": "compare", "serve": "serve", "deploy": "deploy"}


def conf_dir() -> Path:
    """The directory holding the Hydra configs: inside the installed package, else the repo's.

    The schemas their defaults lists name (``/schema/...``) are registered in Hydra's
    ConfigStore first, so the directory composes with Hydra's own API too
    (``initialize_config_dir(config_dir=str(conf_dir()))``).
    """
    from asl_recognition import config
    from asl_recognition._schemas import register_schemas

    register_schemas()
    return config.conf_dir()


def _to_container(cfg: Any) -> dict[str, Any]:
    from asl_recognition.config import to_plain

    return to_plain(cfg)


def _output_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def _guarded(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """Turn library errors into one clear line and exit status 2 (no traceback)."""

    def wrapper(cfg: Any) -> None:
        progress.configure("quiet" if cfg.get("quiet", False) else "auto")
        try:
            fn(cfg)
        except AslRecognitionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    wrapper.__name__ = fn.__name__
    return wrapper


@_guarded
def _train(cfg: Any) -> None:
    from asl_recognition.job import run_job

    out = _output_dir()
    result = run_job(_to_container(cfg), output_dir=out)
    result.comparison.print_table()
    print(f"best model ({result.comparison.winner}): {result.best_dir}")
    if result.report_dir is not None:
        print(f"report: {result.report_dir}")
    if result.run_id is not None:
        from asl_recognition.tracking import redact_uri

        print(f"MLflow run: {result.run_id} in {redact_uri(result.tracking_uri or '')}")


@_guarded
def _compare(cfg: Any) -> None:
    from asl_recognition.compare import Comparator
    from asl_recognition.data import load_dataset
    from asl_recognition.models import load_model

    plain = _to_container(cfg)
    models = plain.get("models") or {}
    if not models:
        raise AslRecognitionError("no models given: pass models.NAME=DIR for each saved model")
    data = {k: v for k, v in (plain.get("data") or {}).items() if k != "validation"}
    test = load_dataset("test", **data)
    loaded = {str(name): load_model(path) for name, path in models.items()}
    comparison = Comparator.from_config(test, plain.get("compare") or {}).evaluate(loaded)
    comparison.print_table()
    report = comparison.write_report(Path(plain.get("report_dir") or _output_dir() / "report"))
    print(f"report: {report}")


def _deployer_from(plain: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from asl_recognition.job import with_shared_azure

    spec = plain.get("deployer") or {}
    return str(spec.get("name", "local")), with_shared_azure(spec.get("params") or {}, plain)


@_guarded
def _serve(cfg: Any) -> None:
    plain = _to_container(cfg)
    name, params = _deployer_from(plain)
    if name not in _SERVE_PROTOCOLS.values():
        raise AslRecognitionError(f"'serve' runs a local service; use 'deploy deployer={name}' instead")
    serve_foreground = import_string(f"asl_recognition.deploy.{name}:serve_foreground")
    raise SystemExit(serve_foreground(plain["model"], **params))


#: ``serve --protocol NAME`` -> the deployer that serves it
_SERVE_PROTOCOLS = {"score": "local", "oip": "oip"}


def _protocol_override(args: list[str]) -> list[str]:
    """``--protocol oip`` / ``--protocol=oip`` -> the Hydra override ``deployer=oip`` (appended)."""
    out: list[str] = []
    chosen: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--protocol" or arg.startswith("--protocol="):
            value = arg.partition("=")[2] if "=" in arg else next(it, "")
            if value not in _SERVE_PROTOCOLS:
                raise AslRecognitionError(
                    f"--protocol must be one of {', '.join(_SERVE_PROTOCOLS)}, got {value!r}"
                )
            chosen = [f"deployer={_SERVE_PROTOCOLS[value]}"]
        else:
            out.append(arg)
    return out + chosen


@_guarded
def _deploy(cfg: Any) -> None:
    from asl_recognition.deploy import get_deployer

    plain = _to_container(cfg)
    name, params = _deployer_from(plain)
    service = get_deployer(name, **params).deploy(plain["model"], name=plain.get("name"))
    print(json.dumps({"name": service.name, "state": service.state, "scoring_uri": service.scoring_uri,
                      "swagger_uri": service.swagger_uri}, indent=2))


def _predict(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="asl-recognition predict",
        description="Predict the letter in image files (PNG/JPEG, any size) with a model directory or a service.",
    )
    parser.add_argument("images", nargs="+", help="image files")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a saved model directory")
    source.add_argument("--uri", help="a scoring URI (local service or Azure)")
    parser.add_argument("--protocol", choices=("score", "oip"), default="score",
                        help="what --uri speaks: score (/score, default) or oip (OIP v2 .../infer)")  # fmt: skip
    parser.add_argument("--key", help="service key, sent as 'Authorization: Bearer KEY'")
    parser.add_argument("--top-k", type=int, default=3, help="letters to show per image (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(list(argv))
    from asl_recognition.deploy.client import predict_command

    try:
        rows = predict_command(args.images, model_dir=args.model, uri=args.uri, key=args.key, top_k=args.top_k,
                               protocol=args.protocol)  # fmt: skip
    except AslRecognitionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            top = ", ".join(f"{c['letter']} {c['probability']:.2f}" for c in row.get("probabilities", []))
            note = ""
            if "hand" in row and row["hand"] is None and row.get("photo_size") != [28, 28]:
                note = "  [no hand found: the centre of the image was read]"
            print(f"{row.get('input')}: {row.get('letter')}  ({top}){note}")
    return 0


def _install_hand_models(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="asl-recognition install-hand-models",
        description="Install the learned hand detector's models (MediaPipe Hands, extracted from the "
        "mediapipe 0.10.14 wheel on PyPI and checked by SHA-256) for the photo preprocessing.",
    )
    parser.add_argument(
        "--dest", help="target folder (default: hand_models/ in $ASL_CACHE_DIR, else ~/.cache/asl_recognition)"
    )
    parser.add_argument("--wheel", help="a mediapipe 0.10 wheel already downloaded (default: pip download)")
    args = parser.parse_args(list(argv))
    from asl_recognition.photo.hand_models import install_hand_models

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = install_hand_models(args.dest, wheel=args.wheel)
    except AslRecognitionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"hand models: {folder}")
    return 0


_PLAIN_COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "predict": _predict,
    "install-hand-models": _install_hand_models,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asl-recognition`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    quiet = "--quiet" in args
    args = [a for a in args if a != "--quiet"]
    command = args[0] if args and args[0] in (*_HYDRA_COMMANDS, *_PLAIN_COMMANDS) else "train"
    if args and args[0] == command:
        args = args[1:]
    if command in _PLAIN_COMMANDS:
        if quiet:
            progress.configure("quiet")
        return _PLAIN_COMMANDS[command](args)
    if quiet:
        args.append("quiet=true")
    if command == "serve":
        try:
            args = _protocol_override(args)
        except AslRecognitionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if command == "compare":  # models.NAME=DIR adds an entry to the (empty) models mapping
        args = [f"+{a}" if a.startswith("models.") else a for a in args]
    try:
        hydra_main = import_string("hydra:main", extra="cli", what=f"'asl-recognition {command}'")
    except MissingDependencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    task = {"train": _train, "compare": _compare, "serve": _serve, "deploy": _deploy}[command]
    app = hydra_main(version_base="1.3", config_path=str(conf_dir()), config_name=_HYDRA_COMMANDS[command])(task)
    saved = sys.argv
    sys.argv = [f"asl-recognition {command}" if command != "train" else "asl-recognition", *args]
    try:
        app()
    finally:
        sys.argv = saved
    return 0
