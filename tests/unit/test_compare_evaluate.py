"""Comparator.evaluate end to end on tiny synthetic data, with a real (tiny) model type."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from sklearn import metrics as skm

from asl_recognition.compare import PHOTOS_WINNER_RULE, Comparator, ComparisonResult, WinnerRule, write_report
from asl_recognition.data import Dataset
from asl_recognition.errors import AslRecognitionError, DatasetError, InvalidParameterError
from asl_recognition.models import ModelMetadata, TrainedModel, register_model_type
from asl_recognition.testing import synthetic_dataset
from asl_recognition.trainers.base import TrainResult, TrialRecord

FAST: dict[str, Any] = {
    "bootstrap_samples": 100,
    "latency_repeats": 1,
    "batch_size": 32,
    "corruptions": {"noise": [8, 64], "rotation": [10]},
    "robustness_subsample": 100,
}


@register_model_type("test-centroid")
class Centroid(TrainedModel):
    """Nearest centroid: a real model that trains in microseconds."""

    model_type = "test-centroid"

    def __init__(self, *, metadata: ModelMetadata, centroids: npt.ArrayLike) -> None:
        super().__init__(metadata=metadata)
        self.centroids = np.asarray(centroids, dtype=np.float32)

    @classmethod
    def fit(cls, ds: Dataset, *, swap: int = 0, **meta: Any) -> Centroid:
        """Centroid per letter; ``swap=k`` rotates the first k centroids (k letters wrong)."""
        labels = sorted(set(ds.labels.tolist()))
        cent = np.stack([ds.images[ds.labels == lab].reshape(-1, 784).mean(0) for lab in labels])
        cent[:swap] = np.roll(cent[:swap], 1, axis=0)
        return cls(
            metadata=ModelMetadata.create(model_type=cls.model_type, backend="centroid", labels=labels, **meta),
            centroids=cent,
        )

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        d = ((images.reshape(len(images), 1, -1) - self.centroids[None]) ** 2).sum(-1)
        e = np.exp(-(d - d.min(axis=1, keepdims=True)) / 1e5)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        np.save(directory / "centroids.npy", self.centroids)
        return {"weights": "centroids.npy"}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> Centroid:
        return cls(metadata=metadata, centroids=np.load(directory / metadata.files["weights"]))


@pytest.fixture(scope="module")
def train() -> Dataset:
    return synthetic_dataset(8, seed=1)


@pytest.fixture(scope="module")
def test_set() -> Dataset:
    return synthetic_dataset(10, seed=2, name="synthetic-test")


@pytest.fixture(scope="module")
def models(train: Dataset) -> dict[str, Centroid]:
    return {
        "good": Centroid.fit(train, metrics={"validation_accuracy": 0.99}),
        "noisy": Centroid.fit(train, swap=6),
    }


@pytest.fixture(scope="module")
def result(test_set: Dataset, models: dict[str, Centroid]) -> ComparisonResult:
    return Comparator(test_set, **FAST).evaluate(models)


def test_metrics_match_sklearn(result: ComparisonResult, test_set: Dataset, models: dict[str, Centroid]) -> None:
    for name, model in models.items():
        pred = model.predict(test_set.images)
        m = result.model(name)
        assert m.accuracy == pytest.approx(skm.accuracy_score(test_set.labels, pred))
        assert m.macro_f1 == pytest.approx(skm.f1_score(test_set.labels, pred, average="macro"))
        assert np.array_equal(
            np.asarray(m.confusion),
            skm.confusion_matrix(test_set.labels, pred, labels=sorted(set(test_set.labels.tolist()))),
        )
        assert m.accuracy_ci[0] <= m.accuracy <= m.accuracy_ci[1]  # type: ignore[operator]
        assert m.n_test == len(test_set)
        assert m.size_bytes > 0
        assert m.latency_single_ms > 0
        assert m.latency_batch_ms > 0
        assert set(m.robustness) == {"noise", "rotation"}
        assert len(m.robustness["noise"]) == 2
        assert m.robustness_n == 100
    good, noisy = result.model("good"), result.model("noisy")
    assert good.accuracy > noisy.accuracy
    assert result.winner == "good"
    assert result.ranking == ["good", "noisy"]
    assert good.validation_accuracy == 0.99
    assert good.validation_gap == pytest.approx(0.99 - good.accuracy)
    assert noisy.validation_accuracy is None
    assert noisy.validation_gap is None
    assert [r["model"] for r in result.table] == ["good", "noisy"]
    assert result.table[0]["winner"] is True


def test_pairwise_mcnemar_uses_per_image_correctness(
    result: ComparisonResult, test_set: Dataset, models: dict[str, Centroid]
) -> None:
    ok_good = models["good"].predict(test_set.images) == test_set.labels
    ok_noisy = models["noisy"].predict(test_set.images) == test_set.labels
    pair = result.pair("good", "noisy")
    assert pair is not None
    assert (pair.a_only, pair.b_only) == (
        int((ok_good & ~ok_noisy).sum()),
        int((~ok_good & ok_noisy).sum()),
    )
    flipped = result.pair("noisy", "good")
    assert flipped is not None
    assert (flipped.a_only, flipped.b_only) == (pair.b_only, pair.a_only)
    assert result.winner_significant == (pair.p_value < 0.05)
    assert ("NOT significantly" in result.significance_note()) != result.winner_significant


def test_json_round_trip_and_plain_types(result: ComparisonResult) -> None:
    text = result.to_json()
    data = json.loads(text)
    assert data["winner"] == "good"
    assert "test accuracy" in data["winner_rule_text"]
    again = ComparisonResult.from_json(text)
    assert again.to_json() == text
    assert again.model("good").accuracy_ci == result.model("good").accuracy_ci


def test_train_results_and_explicit_validation(test_set: Dataset, train: Dataset) -> None:
    model = Centroid.fit(train, metrics={"validation_accuracy": 0.5})
    trials = [
        TrialRecord(0, {"lr": 0.1}, 0.8, "complete", 1.0),
        TrialRecord(1, {"lr": 0.01}, 0.9, "complete", 2.0),
    ]
    tr = TrainResult(
        model=model,
        metrics={"validation_accuracy": 0.7},
        timings={"fit_s": 12.5},
        trials=trials,
        backend="sweep",
    )
    res = Comparator(test_set, **{**FAST, "corruptions": {}}).evaluate({"a": tr, "b": model}, validation={"b": 0.6})
    a, b = res.model("a"), res.model("b")
    assert a.validation_accuracy == 0.7
    assert a.training_time_s == 12.5
    assert a.backend == "sweep"
    assert [t["number"] for t in a.trials] == [0, 1]
    assert b.validation_accuracy == 0.6
    assert b.robustness == {}
    assert b.mean_corruption_accuracy is None
    # equal accuracy (same model): the tie goes to size, then latency: the order is stated
    assert res.winner in {"a", "b"}
    assert "ties" in res.to_markdown()


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({}, "non-empty mapping"),
        ({"x": object()}, "model 'x' is a object, not a TrainedModel or TrainResult"),
        ({"": None}, "model names must be non-empty strings"),
    ],
)
def test_bad_model_mappings(test_set: Dataset, models: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        Comparator(test_set, **FAST).evaluate(models)


def test_model_with_labels_outside_the_test_set(test_set: Dataset, models: dict[str, Centroid]) -> None:
    bad = Centroid.fit(synthetic_dataset(2, labels=[0, 1]))
    bad.metadata.labels = (0, 9)  # J: not a letter of the test set (bypassing metadata checks)
    with pytest.raises(InvalidParameterError, match=r"model 'bad' predicts labels \[9\]"):
        Comparator(test_set, **FAST).evaluate({"bad": bad})
    with pytest.raises(InvalidParameterError, match="unknown model"):
        Comparator(test_set, **FAST).evaluate(models, validation={"nope": 0.5})
    with pytest.raises(
        InvalidParameterError,
        match=r"validation accuracy of model 'good' must be a number in 0\.\.1",
    ):
        Comparator(test_set, **FAST).evaluate(models, validation={"good": 93.0})


def test_bad_datasets_and_options(test_set: Dataset) -> None:
    with pytest.raises(InvalidParameterError, match="empty"):
        Comparator(Dataset.from_arrays(np.zeros((0, 784), np.uint8), np.zeros(0, np.int64)))
    with pytest.raises(InvalidParameterError, match="bootstrap_samples"):
        Comparator(test_set, bootstrap_samples=-1)
    with pytest.raises(InvalidParameterError, match="unknown report format"):
        Comparator(test_set, report_formats=["pdf"])
    with pytest.raises(InvalidParameterError, match="unknown key"):
        Comparator.from_config(test_set, {"bootstrap": 3})


def test_default_yaml_config_builds_a_comparator(test_set: Dataset, tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    path = Path(__file__).resolve().parents[2] / "conf" / "compare" / "default.yaml"
    config = OmegaConf.to_container(OmegaConf.load(path), resolve=True)  # resolves ${oc.env:...}
    assert isinstance(config, dict)
    options = {str(k): v for k, v in config.items()}
    comp = Comparator.from_config(test_set, {**options, "photos_dir": None})
    assert comp.winner_rule == WinnerRule()  # without photos: test accuracy, then size, latency
    assert len(comp.corruptions) == 7
    with_photos = Comparator.from_config(test_set, {**options, "photos_dir": str(tmp_path)})
    assert with_photos.winner_rule == PHOTOS_WINNER_RULE  # photo accuracy; test accuracy >= 0.995


def test_photo_folder_through_the_hand_observation(
    tmp_path: Path, test_set: Dataset, models: dict[str, Centroid]
) -> None:
    for label, letter in ((0, "A"), (1, "b")):
        (tmp_path / letter).mkdir()
        for k, img in enumerate(test_set.images[test_set.labels == label][:3]):
            Image.fromarray(np.kron(img, np.ones((4, 4), np.uint8))).convert("RGB").save(tmp_path / letter / f"{k}.png")
    (tmp_path / "A" / "notes.txt").write_text("ignored")
    res = Comparator(test_set, **{**FAST, "corruptions": {}}, photos_dir=tmp_path).evaluate(models)
    photos = res.model("good").photos
    assert photos is not None
    assert photos.n == 6
    assert sum(map(sum, photos.confusion)) == 6
    assert photos.per_letter_recall["A"] is not None
    assert photos.per_letter_recall["C"] is None

    (tmp_path / "J").mkdir()
    with pytest.raises(DatasetError, match="'J' is not one"):
        Comparator(test_set, **FAST, photos_dir=tmp_path).evaluate(models)
    with pytest.raises(InvalidParameterError, match="is not a directory"):
        Comparator(test_set, photos_dir=tmp_path / "missing")


def test_report_directory(result: ComparisonResult, tmp_path: Path) -> None:
    out = write_report(result, tmp_path / "report")
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert {
        "accuracy_vs_latency.png",
        "accuracy_vs_size.png",
        "per_letter_recall.png",
        "robustness.png",
        "validation_gap.png",
        "confusion_good.png",
        "confusion_noisy.png",
    } <= set(pngs)
    for p in pngs:
        assert (out / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "Winner: good" in md
    assert result.winner_rule.describe() in md
    assert all(f"(plots/{p})" in md for p in pngs)
    html = (out / "report.html").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == len(pngs)
    assert all(base64.b64decode(e)[:4] == b"\x89PNG" for e in embedded)
    assert "<img" in html
    assert 'src="plots/' not in html
    assert ComparisonResult.from_json(out / "result.json").winner == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary leftovers


def test_report_is_atomic(result: ComparisonResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = result.write_report(tmp_path / "r", formats=["json"])
    assert sorted(p.name for p in out.iterdir()) == ["result.json"]

    def boom(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr("asl_recognition.compare._report.render_html", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        result.write_report(tmp_path / "r", formats=["md", "html"])
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["result.json"]  # old report intact
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    with pytest.raises(AslRecognitionError, match="unknown report format"):
        result.write_report(tmp_path / "r", formats=["pdf"])


def test_rich_table_and_markdown(result: ComparisonResult) -> None:
    from rich.console import Console

    console = Console(record=True, width=200)
    result.print_table(console)
    text = console.export_text()
    assert "good" in text
    assert "noisy" in text
    assert "Winner: good" in text
    md = result.to_markdown()
    assert "| 1 | good (winner) |" in md
    assert "McNemar" in md
    assert "## Robustness" in md


class SlowCentroid(Centroid):
    """The same centroids, a fixed time per image slower."""

    model_type = "test-centroid"

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        import time

        time.sleep(6e-4 * len(images))
        return super()._predict_proba(images)


def test_a_slow_model_gets_a_smaller_documented_robustness_sample(train: Dataset, test_set: Dataset,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    from asl_recognition.compare._predictions import robustness_rows

    fast = Centroid.fit(train)
    slow = SlowCentroid(metadata=fast.metadata, centroids=fast.centroids)
    big = synthetic_dataset(30, seed=3, name="bigger-test")  # 720 images: above the floor of 500
    settings = {**FAST, "robustness_subsample": None, "bootstrap_samples": 0}
    # the slow model's 4 passes over 720 images take over 1.7 s: over a 1.2 s budget
    result = Comparator(big, robustness_budget_s=1.2, **settings).evaluate({"fast": fast, "slow": slow})
    counts = {m.name: m.robustness_n for m in result.models}
    assert counts["fast"] == len(big)
    assert 500 <= counts["slow"] < len(big)
    report = result.to_markdown()
    assert f"measured on evenly spaced images of that sample: slow on {counts['slow']}." in report
    unlimited = Comparator(big, **settings).evaluate({"slow": slow})
    assert {m.robustness_n for m in unlimited.models} == {len(big)}
    assert "evenly spaced" not in unlimited.to_markdown()
    rows = robustness_rows(2000, seconds_per_image=1e-3, batches=10, budget_s=5)
    assert len(rows) == 500 and rows[0] == 0 and rows[-1] == 1999 and np.all(np.diff(rows) > 0)
    with pytest.raises(InvalidParameterError, match="robustness_budget_s"):
        Comparator(big, robustness_budget_s=0)


def test_robustness_false_turns_the_corruptions_off(test_set: Dataset, models: dict[str, Centroid]) -> None:
    result = Comparator(test_set, robustness=False, **FAST).evaluate(models)
    assert result.settings["corruptions"] == {}
    assert all(not m.robustness and m.mean_corruption_accuracy is None for m in result.models)
    with pytest.raises(InvalidParameterError, match="'robustness' must be one of True, False"):
        Comparator(test_set, robustness="no")  # type: ignore[arg-type]
