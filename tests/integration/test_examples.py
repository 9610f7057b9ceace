"""Every example script runs (on real data, with a small training subset for speed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.serve
def test_quickstart_then_serve_and_query(data_dir: Path, tmp_path: Path) -> None:
    best = _load("quickstart").main(["--data-dir", str(data_dir), "--max-train", "3000", "--out", str(tmp_path)])
    assert (best / "asl_model.json").is_file()
    assert (tmp_path / "report" / "report.html").is_file()
    answer = _load("serve_and_query").main([str(best), "--data-dir", str(data_dir)])
    assert next(iter(answer)) == "result"
    assert len(answer["result"]) == 8
    assert all(isinstance(x, int) for x in answer["result"])
    # the svm on 3,000 images gets most of these eight right (chance would be ~1 of 8)
    import pandas as pd

    actual = pd.read_csv(data_dir / "sign_mnist_test.csv", nrows=9)["label"].iloc[1:9].tolist()
    assert sum(a == p for a, p in zip(actual, answer["result"], strict=True)) >= 5
