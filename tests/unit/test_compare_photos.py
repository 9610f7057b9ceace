"""The Comparator's photo evaluation on tiny synthetic photo folders (written to tmp dirs).

Two constant models (one photo-native, one 28x28) make every per-person and per-source number
exact; both record what they were given, so the tests see that each photo is observed once and
that both models read the same observation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

import asl_recognition.photo.observe as observe_module
from asl_recognition.compare import PHOTOS_WINNER_RULE, Comparator, ComparisonResult, WinnerRule
from asl_recognition.compare._metrics import wilson_interval
from asl_recognition.compare._photos import load_photo_folder
from asl_recognition.data import Dataset
from asl_recognition.data.letters import letter_to_label
from asl_recognition.images import preprocess_image
from asl_recognition.models import ModelMetadata, TrainedModel, register_model_type
from asl_recognition.testing import synthetic_dataset

FAST: dict[str, Any] = {"bootstrap_samples": 0, "latency_repeats": 1, "batch_size": 16, "corruptions": {}}

# file -> (person, source): person p1 has 2 A and 1 B photos, p2 has 1 A and 3 B photos.
PHOTOS = {
    "A/1.png": ("p1", "crop"),
    "A/2.jpg": ("p1", "webcam"),
    "B/1.png": ("p1", "webcam"),
    "A/3.png": ("p2", "webcam"),
    "B/2.png": ("p2", "webcam"),
    "B/3.png": ("p2", "webcam"),
    "B/4.png": ("p2", "webcam"),
}


class _Constant(TrainedModel):
    """Always the same letter; remembers the observations and crops it was given."""

    letter: ClassVar[str] = "A"

    def __init__(self, *, metadata: ModelMetadata) -> None:
        super().__init__(metadata=metadata)
        self.seen_observations: list[Any] = []
        self.seen_images: list[npt.NDArray[Any]] = []

    @classmethod
    def create(cls) -> _Constant:
        return cls(metadata=ModelMetadata.create(model_type=cls.model_type, backend="constant",
                                                 labels=[letter_to_label("A"), letter_to_label("B")]))  # fmt: skip

    def _one_hot(self, n: int) -> npt.NDArray[np.float64]:
        out = np.zeros((n, 2))
        out[:, 0 if self.letter == "A" else 1] = 1.0
        return out

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        self.seen_images.append(images.copy())
        return self._one_hot(len(images))

    def predict_observations_proba(self, observations: Sequence[Any]) -> npt.ArrayLike:
        self.seen_observations.append(list(observations))
        if self.reads_photos:
            return self._one_hot(len(observations))
        return super().predict_observations_proba(observations)

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        (directory / "letter.txt").write_text(self.letter)
        return {"weights": "letter.txt"}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> _Constant:
        return cls(metadata=metadata)


@register_model_type("test-photo-always-a")
class AlwaysA(_Constant):
    """Photo-native: reads the observation (here: ignores it) and answers A."""

    model_type = "test-photo-always-a"
    reads_photos = True
    letter = "A"


@register_model_type("test-crop-always-b")
class AlwaysB(_Constant):
    """A 28x28 model: reads each observation's crop and answers B."""

    model_type = "test-crop-always-b"
    letter = "B"


def _write_folder(root: Path, *, seed: int, sources: bool = True, source_is_person: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    for name in PHOTOS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        grey = rng.integers(0, 256, size=(36, 44), dtype=np.uint8)
        Image.fromarray(np.stack([grey] * 3, axis=-1)).save(root / name)  # grey RGB: no hand to detect
    if sources:
        lines = ["# file\tletter\tsource\tperson"] + [
            f"{n}\t{n[0]}\t{p + '-room' if source_is_person else s}\t{p}" for n, (p, s) in PHOTOS.items()
        ]
        (root / "SOURCES.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("ASL_CACHE_DIR", str(path))
    return path


@pytest.fixture
def observed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The photos observe_photo decodes and observes (the real function, counted)."""
    calls: list[str] = []
    real = observe_module.observe_photo

    def counting(source: Any, **kwargs: Any) -> Any:
        calls.append(str(source))
        return real(source, **kwargs)

    monkeypatch.setattr(observe_module, "observe_photo", counting)
    return calls


@pytest.fixture(scope="module")
def test_set() -> Dataset:
    return synthetic_dataset(2, labels=[0, 1], seed=3, name="tiny-test")


def _evaluate(test_set: Dataset, folder: Path, **options: Any) -> tuple[ComparisonResult, AlwaysA, AlwaysB]:
    a, b = AlwaysA.create(), AlwaysB.create()
    result = Comparator(test_set, **FAST, photos_dir=folder, **options).evaluate({"photo-a": a, "crop-b": b})
    return result, a, b


def test_each_photo_is_observed_once_and_shared_by_every_model(
    tmp_path: Path, cache: Path, observed: list[str], test_set: Dataset
) -> None:
    folder = _write_folder(tmp_path / "photos", seed=0)
    result, a, b = _evaluate(test_set, folder)
    assert sorted(observed) == sorted(str(folder / n) for n in PHOTOS)  # once per photo, not per model
    (seen_a,), (seen_b,) = a.seen_observations, b.seen_observations
    assert len(seen_a) == len(PHOTOS)
    assert all(x is y for x, y in zip(seen_a, seen_b, strict=True))  # the very same observations
    # the 28x28 model read each observation's crop, which is preprocess_image of the photo
    files = sorted(folder / n for n in PHOTOS)
    crops = np.concatenate([im for im in b.seen_images if len(im) == len(PHOTOS)])
    np.testing.assert_array_equal(crops, np.stack([preprocess_image(f) for f in files]).astype(np.float32))
    assert result.model("photo-a").photos.reads_photos is True  # type: ignore[union-attr]
    assert result.model("crop-b").photos.reads_photos is False  # type: ignore[union-attr]

    observed.clear()
    _evaluate(test_set, folder)  # a second comparison reads the observation cache
    assert observed == []
    assert any(cache.rglob("*.npz"))


def test_per_person_and_per_source_accuracy_with_wilson_intervals(
    tmp_path: Path, cache: Path, test_set: Dataset
) -> None:
    result, _, _ = _evaluate(test_set, _write_folder(tmp_path / "photos", seed=1))
    a, b = result.model("photo-a").photos, result.model("crop-b").photos
    assert a is not None and b is not None
    assert (a.n, a.accuracy, b.accuracy) == (7, 3 / 7, 4 / 7)
    assert a.accuracy_ci == wilson_interval(3, 7)
    assert a.per_person == {
        "p1": {"n": 3, "accuracy": 2 / 3, "ci": wilson_interval(2, 3), "hands_found": 0},
        "p2": {"n": 4, "accuracy": 1 / 4, "ci": wilson_interval(1, 4), "hands_found": 0},
    }
    assert {p: g["accuracy"] for p, g in b.per_person.items()} == {"p1": 1 / 3, "p2": 3 / 4}
    assert {s: (g["n"], g["accuracy"]) for s, g in a.per_source.items()} == {"crop": (1, 1.0), "webcam": (6, 2 / 6)}
    assert (a.per_letter_recall["A"], a.per_letter_recall["B"], a.per_letter_recall["C"]) == (1.0, 0.0, None)
    assert sum(map(sum, a.confusion)) == 7
    assert a.hands_found == 0
    assert result.settings["photos_persons"] == 2
    assert result.settings["photos_hands_found"] == 0


def test_without_sources_tsv_every_photo_is_one_unknown_person(tmp_path: Path, cache: Path, test_set: Dataset) -> None:
    result, _, _ = _evaluate(test_set, _write_folder(tmp_path / "photos", seed=2, sources=False))
    photos = result.model("photo-a").photos
    assert photos is not None
    assert list(photos.per_person) == ["unknown"]
    assert photos.per_person["unknown"]["n"] == 7


def test_photo_results_round_trip_and_old_reports_still_load(tmp_path: Path, cache: Path, test_set: Dataset) -> None:
    result, _, _ = _evaluate(test_set, _write_folder(tmp_path / "photos", seed=3))
    back = ComparisonResult.from_json(result.to_json())
    assert back.model("photo-a").photos == result.model("photo-a").photos
    assert back.winner_rule == result.winner_rule

    old = json.loads(result.to_json())
    for m in old["models"]:
        for key in ("per_person", "per_source", "hands_found", "reads_photos"):
            del m["photos"][key]
    old_photos = ComparisonResult.from_dict(old).model("photo-a").photos
    assert old_photos is not None
    assert (old_photos.per_person, old_photos.per_source, old_photos.hands_found) == ({}, {}, None)
    assert "photos" in ComparisonResult.from_dict(old).to_markdown().lower()


def test_report_shows_people_letters_and_how_photos_were_read(tmp_path: Path, cache: Path, test_set: Dataset) -> None:
    result, _, _ = _evaluate(test_set, _write_folder(tmp_path / "photos", seed=4))
    out = result.write_report(tmp_path / "report", formats=("md", "png", "html"))
    md = (out / "report.md").read_text()
    section = md[md.index("## Real photos") : md.index("## Costs")]
    assert result.ranking == ["crop-b", "photo-a"]  # columns in ranking order
    assert "| p1 | 3 | 0 | 33.33% [6.15, 79.23] | 66.67% [20.77, 93.85] |" in section
    assert "| crop | 1 | 0 |" in section  # sources differ from persons: their own table
    assert "letter (recall on photos)" in section
    assert "landmarks" in section and "28x28 crop" in section
    assert "preprocessed by" not in md
    assert "(plots/photos_confusion_photo-a.png)" in section
    assert "(plots/photos_confusion_crop-b.png)" in section
    assert "p1" in (out / "report.html").read_text()

    one_source_each, _, _ = _evaluate(test_set, _write_folder(tmp_path / "rooms", seed=4, source_is_person=True))
    md = one_source_each.to_markdown()
    assert "| p1 | 3 |" in md and "| source |" not in md  # the source table would repeat the persons


def test_photos_bring_the_photo_winner_rule(tmp_path: Path, cache: Path, test_set: Dataset) -> None:
    folder = _write_folder(tmp_path / "photos", seed=5)
    result, _, _ = _evaluate(test_set, folder)
    assert result.winner_rule == PHOTOS_WINNER_RULE
    # neither constant model reaches test accuracy 0.995: ranked by photo accuracy, and said so
    assert result.winner == "crop-b"
    assert result.winner_note is not None and result.winner_note.startswith("No model meets")
    assert result.winner_note in result.to_markdown()
    assert result.to_dict()["winner_rule_note"] == result.winner_note

    explicit, _, _ = _evaluate(test_set, folder, winner_rule="macro_f1")
    assert explicit.winner_rule.metric == "macro_f1"  # an explicit rule is kept
    both, _, _ = _evaluate(test_set, folder, winner_rule="macro_f1",
                           photos_winner_rule={"metric": "photo_accuracy", "tie_breakers": ["latency"]})  # fmt: skip
    assert both.winner_rule == WinnerRule(metric="photo_accuracy", tie_breakers=("latency",))
    assert Comparator(test_set, photos_winner_rule="photo_accuracy").winner_rule == WinnerRule()  # no photos


def test_load_photo_folder_still_returns_the_preprocessed_crops(tmp_path: Path, cache: Path) -> None:
    folder = _write_folder(tmp_path / "photos", seed=6)
    images, labels, names = load_photo_folder(folder)
    assert images.shape == (7, 28, 28) and images.dtype == np.uint8
    assert names[0] == "A/1.png"
    np.testing.assert_array_equal(images[0], preprocess_image(folder / "A" / "1.png"))
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
