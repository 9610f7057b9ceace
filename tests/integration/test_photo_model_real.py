"""The photo recogniser on real data: trained on Sign MNIST plus a slice of the training photos
(linked into a temporary folder, never copied into the repo), read on dev photos of people it
never saw, and served by the real inference server with real photo files."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asl_recognition import get_trainer, load_model
from asl_recognition.data.letters import label_to_letter
from asl_recognition.data.photos import load_photo_dataset
from asl_recognition.deploy import get_deployer
from asl_recognition.deploy.client import ScoringClient, predict_command
from asl_recognition.models.photo import PhotoModel
from asl_recognition.photo.handpose import hand_detector_available
from asl_recognition.photo.observe import observe_photos

pytestmark = pytest.mark.realdata

@pytest.fixture(scope="module")
def photos_train(photos_train_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 12th training photo, as links in a temporary folder with its SOURCES.tsv rows."""
    src = photos_train_dir
    root = tmp_path_factory.mktemp("photos-train")
    with (src / "SOURCES.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    keep = [rows[0], *rows[1::12]]
    for row in keep[1:]:
        link = root / row[0]
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(src / row[0])
    (root / "SOURCES.tsv").write_text("\n".join("\t".join(r) for r in keep) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def photo_model_dir(photos_train: Path, real_train: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert hand_detector_available(), "hand models not installed: run 'asl-recognition install-hand-models'"
    fit, validation = real_train.split_validation(fraction=0.2, seed=0)
    # the Sign MNIST validation split only feeds the crop-path metric (landmarks read in every
    # image): every 10th image of it is enough for that metric to be measured and checked
    validation = validation.subset(np.arange(0, len(validation), 10))
    # pixel=None: the pose expert alone (a CNN pixel expert is the main job's, tested there)
    trainer = get_trainer("photo", photos_train=photos_train, pixel=None, mnist_stride=20, hidden=[64], max_iter=80,
                          members=2)
    result = trainer.fit(fit, validation=validation, seed=0)
    assert 0.0 < result.metrics["photo_validation_accuracy"] <= 1.0
    assert result.metrics["validation_size"] == len(validation)
    assert 0.3 < result.metrics["validation_accuracy"] <= 1.0  # far above chance (1/24) on Sign MNIST crops
    return result.model.save(tmp_path_factory.mktemp("models") / "photo")


@pytest.fixture(scope="module")
def dev_sample(dev_photo_cache: Path) -> tuple[list[Path], np.ndarray]:
    dev = load_photo_dataset(dev_photo_cache)
    idx = np.arange(0, len(dev), 15)
    return [dev.files[i] for i in idx], dev.labels[idx]


def test_the_photo_model_reads_unseen_people(photo_model_dir: Path, dev_sample: tuple[list[Path], np.ndarray]) -> None:
    model = load_model(photo_model_dir)
    assert isinstance(model, PhotoModel) and model.reads_photos
    files, labels = dev_sample
    observations = observe_photos(files)  # detected once, for both calls below
    proba = model.predict_photos_proba([], observations=observations)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float((model.predict_photos([], observations=observations) == labels).mean())
    assert accuracy >= 0.5, f"the photo recogniser read only {accuracy:.0%} of {len(files)} dev photos"


def test_the_photo_model_is_small(photo_model_dir: Path) -> None:
    size = sum(f.stat().st_size for f in photo_model_dir.rglob("*") if f.is_file())
    assert size < 5_000_000


@pytest.fixture(scope="module")
def photo_service(photo_model_dir: Path) -> Iterator[Any]:
    svc = get_deployer("local", workers=1).deploy(photo_model_dir, name="asl-photo-test")
    yield svc
    svc.delete()


@pytest.mark.serve
def test_the_service_reads_photos_with_the_photo_model(
    photo_service: Any, photo_model_dir: Path, dev_sample: tuple[list[Path], np.ndarray]
) -> None:
    files = dev_sample[0][:12]
    expected = load_model(photo_model_dir).predict_photos(files).tolist()
    answer = ScoringClient(photo_service.scoring_uri).predict_images(files, top_k=1)
    assert answer["result"] == expected
    local = predict_command(files, model_dir=photo_model_dir, top_k=1)
    assert [row["label"] for row in local] == expected
    # what was found of each hand, as the service reports it (the dev photos: every hand found)
    assert all(row["hand"]["detector"] == "landmarks" and len(row["hand"]["landmarks"]) == 21 for row in local)


@pytest.mark.serve
def test_the_oip_service_reads_photos_with_the_photo_model(
    photo_model_dir: Path, dev_sample: tuple[list[Path], np.ndarray]
) -> None:
    """The photo model behind the OIP front end: the photo itself reaches it (BYTES tensor)."""
    files = dev_sample[0][:8]
    expected = load_model(photo_model_dir).predict_photos(files).tolist()
    with get_deployer("oip", workers=1, key="pk").deploy(photo_model_dir) as svc:
        client = ScoringClient(svc.scoring_uri, key="pk", protocol="oip")
        assert client.predict_images(files, top_k=1)["result"] == expected
        pixels = np.zeros((2, 28, 28), np.uint8)  # pixel rows reach its pixel expert
        assert client.predict_pixels(pixels)["result"] == load_model(photo_model_dir).predict(pixels).tolist()
        # an unmodified tritonclient sending a real photo's raw bytes (binary tensor extension)
        import tritonclient.http as triton

        triton_client = triton.InferenceServerClient(svc.base_uri.removeprefix("http://"))
        model = load_model(photo_model_dir)
        for path in files[:3]:
            raw = triton.InferInput("images", [1], "BYTES")
            raw.set_data_from_numpy(np.array([path.read_bytes()], dtype=np.object_), binary_data=True)
            result = triton_client.infer(svc.model_name, [raw], headers={"Authorization": "Bearer pk"})
            (letter,) = result.as_numpy("letter").tolist()
            (label,) = model.predict_photos([path]).tolist()
            assert letter.decode() == label_to_letter(label)
