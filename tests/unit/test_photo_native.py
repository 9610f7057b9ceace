"""The photo-native pieces on synthetic data: hand-shape features, landmark augmentation, the
photo flavour (pose classifier, fusion, save/load), photo folders and the observation cache."""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.data.photos import load_photo_dataset
from asl_recognition.errors import DatasetError, InvalidParameterError, ModelFormatError
from asl_recognition.models import load_model
from asl_recognition.models.photo import PhotoModel, PoseClassifier, PoseEnsemble
from asl_recognition.photo.box import HandBox
from asl_recognition.photo.hand_augment import augment_hands
from asl_recognition.photo.hand_shape import N_FEATURES, canonical_hands, hand_shape_features, shape_features
from asl_recognition.photo.handpose import HandPose
from asl_recognition.photo.observe import MIN_PARALLEL, _from_npz, _key, _to_npz, observe_photos
from asl_recognition.photo.pipeline import HandObservation
from asl_recognition.trainers.photo import SIGN_MNIST_PERSON, fusion_weight, person_weights


def _hand(seed: int = 0) -> np.ndarray:
    """A plausible open right hand (x right, y down), wrist at the origin, in metres."""
    rng = np.random.default_rng(seed)
    pts = np.zeros((21, 3))
    bases = {1: -0.4, 5: -0.15, 9: 0.0, 13: 0.15, 17: 0.3}
    for f, (base, angle) in enumerate(bases.items()):
        direction = np.array([np.sin(angle), -np.cos(angle), 0.0])
        for j in range(4):
            pts[base + j] = direction * (0.05 + 0.03 * j) * (1.0 if f else 0.8)
    return pts + rng.normal(0, 0.001, pts.shape)


def _rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_shape_features_ignore_size_and_position_not_orientation() -> None:
    hand = _hand()
    f = shape_features(hand[None])[0]
    moved = shape_features((hand * 3.0 + np.array([5.0, -2.0, 1.0]))[None])[0]
    np.testing.assert_allclose(f, moved, atol=1e-5)
    turned = shape_features((hand @ _rotation_z(np.pi / 2).T)[None])[0]
    local = slice(0, 60)  # the palm-frame coordinates do not see the turn ...
    np.testing.assert_allclose(f[local], turned[local], atol=1e-5)
    assert np.abs(f[-12:] - turned[-12:]).max() > 0.5  # ... the orientation features do
    assert f.shape == (N_FEATURES,) and np.isfinite(f).all()


def test_other_hand_is_mirrored_to_sign_mnist_side() -> None:
    right = _hand()
    left = right * np.array([-1.0, 1.0, 1.0])
    a = hand_shape_features(right[None], None, [False])
    b = hand_shape_features(left[None], None, [True])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.abs(a - hand_shape_features(left[None], None, [False])).max() > 0.1


def test_world_landmarks_are_preferred_when_known() -> None:
    image = _hand(1) * 1000.0
    world = _hand(2)
    out = canonical_hands(np.stack([image, image]), np.stack([world, np.zeros((21, 3))]), [False, False])
    np.testing.assert_allclose(out[0], world)
    np.testing.assert_allclose(out[1], image)


def test_degenerate_hands_give_finite_features() -> None:
    assert np.isfinite(shape_features(np.zeros((2, 21, 3)))).all()


def test_augmented_hands_stay_close_and_vary() -> None:
    hand = _hand()
    copies = augment_hands(hand[None], copies=50, seed=0)
    assert copies.shape == (50, 21, 3)
    palm = np.linalg.norm(hand[9] - hand[0])
    spread = np.linalg.norm(copies - (hand - hand[0]), axis=2).mean(axis=1) / palm
    assert 0.02 < spread.mean() < 0.6  # varied, but the same hand
    np.testing.assert_array_equal(copies, augment_hands(hand[None], copies=50, seed=0))
    assert not np.array_equal(copies, augment_hands(hand[None], copies=50, seed=1))


def _pose_classifier(seed: int = 0) -> PoseClassifier:
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    labels = np.array(VALID_LABELS[:3])
    centres = rng.normal(size=(3, N_FEATURES)) * 3
    y = np.repeat(labels, 30)
    x = np.repeat(centres, 30, axis=0) + rng.normal(size=(90, N_FEATURES))
    scaler = StandardScaler().fit(x)
    mlp = MLPClassifier((16,), max_iter=300, random_state=0).fit(scaler.transform(x), y)
    clf = PoseClassifier.from_sklearn(scaler, mlp)
    np.testing.assert_allclose(clf.predict_proba(x), mlp.predict_proba(scaler.transform(x)), atol=1e-6)
    return clf


def test_pose_classifier_round_trips_without_pickle(tmp_path: Path) -> None:
    clf = _pose_classifier()
    path = tmp_path / "pose.npz"
    path.write_bytes(clf.to_bytes())
    again = PoseClassifier.from_file(path)
    x = np.random.default_rng(3).normal(size=(5, N_FEATURES))
    np.testing.assert_allclose(again.predict_proba(x), clf.predict_proba(x), atol=1e-5)
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelFormatError, match=r"bad\.npz"):
        PoseClassifier.from_file(tmp_path / "bad.npz")


def test_pose_ensemble_averages_its_members_and_round_trips(tmp_path: Path) -> None:
    a, b = _pose_classifier(0), _pose_classifier(1)
    ensemble = PoseEnsemble((a, b))
    x = np.random.default_rng(3).normal(size=(5, N_FEATURES))
    np.testing.assert_allclose(ensemble.predict_proba(x), (a.predict_proba(x) + b.predict_proba(x)) / 2)
    assert ensemble.labels == a.labels and ensemble.n_parameters == a.n_parameters + b.n_parameters
    path = tmp_path / "pose.npz"
    path.write_bytes(ensemble.to_bytes())
    again = PoseEnsemble.from_file(path)
    assert len(again.members) == 2
    np.testing.assert_allclose(again.predict_proba(x), ensemble.predict_proba(x), atol=1e-5)
    with pytest.raises(ModelFormatError, match="holds 2 pose classifiers"):
        PoseClassifier.from_file(path)
    path.write_bytes(a.to_bytes())  # a single network's file (models saved before ensembles) is one member
    assert len(PoseEnsemble.from_file(path).members) == 1
    assert PoseEnsemble((a,)).to_bytes() == a.to_bytes()
    other = dataclasses.replace(b, labels=tuple(reversed(b.labels)))
    with pytest.raises(ModelFormatError, match="member 1"):
        PoseEnsemble((a, other))
    with pytest.raises(ModelFormatError, match="at least one"):
        PoseEnsemble(())


def test_pose_classifier_checks_its_layers() -> None:
    with pytest.raises(ModelFormatError, match="layer 0"):
        PoseClassifier(mean=np.zeros(3), scale=np.ones(3), weights=(np.zeros((4, 2)),), biases=(np.zeros(2),),
                       labels=(0, 1))  # fmt: skip


def _observation(pose: HandPose | None, image_value: int = 100) -> HandObservation:
    box = None if pose is None else HandBox(left=0, top=0, right=50, bottom=50, palm=(25, 25), palm_radius=5.0,
                                            pose=pose)  # fmt: skip
    return HandObservation(image=np.full((28, 28), image_value, np.uint8), hand=box, photo_size=(60, 80))


def _pose_of(hand: np.ndarray, side: float = 0.9) -> HandPose:
    return HandPose(landmarks=hand[:, :2] * 1000, presence=0.95, palm_score=0.9, side_score=side,
                    depth=hand[:, 2] * 1000, world=hand, attempt="photo")  # fmt: skip


def _pixel_model(labels: tuple[int, ...], favourite: int) -> object:
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline

    from asl_recognition.models.base import ModelMetadata
    from asl_recognition.models.sklearn import SklearnModel

    x = np.zeros((len(labels) + 1, 784))
    y = [*labels, favourite]
    pipe = Pipeline([("clf", DummyClassifier(strategy="prior"))]).fit(x, y)
    meta = ModelMetadata.create(model_type="sklearn", backend="sklearn", labels=tuple(int(c) for c in pipe.classes_))
    return SklearnModel(pipeline=pipe, metadata=meta)


def test_photo_model_fuses_on_photos_and_saves(tmp_path: Path) -> None:
    pose = _pose_classifier()
    pixel = _pixel_model(pose.labels, favourite=pose.labels[2])
    model = PhotoModel(pose=pose, pixel=pixel, photo_weight=0.75)  # type: ignore[arg-type]
    with_hand, without = _observation(_pose_of(_hand())), _observation(None)
    proba = model.predict_photos_proba([], observations=[with_hand, without])
    experts = model.expert_probabilities([with_hand, without])
    np.testing.assert_allclose(proba[0], 0.75 * experts["pose"][0] + 0.25 * experts["pixel"][0], atol=1e-6)
    np.testing.assert_allclose(proba[1], experts["pixel"][1], atol=1e-6)  # no hand: the pixel expert
    # 28x28 inputs: the pixel expert
    crops = np.zeros((2, 28, 28))
    np.testing.assert_allclose(model.predict_proba(crops), pixel.predict_proba(crops), atol=1e-6)  # type: ignore[attr-defined]
    again = load_model(model.save(tmp_path / "photo"))
    assert isinstance(again, PhotoModel) and again.reads_photos and again.photo_weight == 0.75
    np.testing.assert_allclose(again.predict_photos_proba([], observations=[with_hand, without]), proba, atol=1e-5)


def test_photo_model_rejects_a_bad_weight() -> None:
    with pytest.raises(InvalidParameterError, match="photo_weight"):
        PhotoModel(pose=_pose_classifier(), photo_weight=1.5)
    with pytest.raises(InvalidParameterError, match="without a pixel expert"):
        PhotoModel(pose=_pose_classifier(), photo_weight=0.5)


def test_every_model_reads_photos_through_its_crop(tmp_path: Path) -> None:
    """A 28x28 model's predict_photos equals predict on preprocess_image's crop."""
    from asl_recognition.images import preprocess_image

    pixel = _pixel_model(tuple(VALID_LABELS[:3]), favourite=VALID_LABELS[1])
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[10:50, 20:60] = (200, 140, 110)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    crop = preprocess_image(buf.getvalue())
    np.testing.assert_allclose(pixel.predict_photos_proba([buf.getvalue(), rgb]),  # type: ignore[attr-defined]
                               pixel.predict_proba(np.stack([crop, crop])), atol=1e-6)  # type: ignore[attr-defined]


def test_fusion_weight_prefers_the_expert_that_is_right() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    right = np.full((200, 3), 0.1)
    right[np.arange(200), y] = 0.8
    wrong = np.full((200, 3), 0.05)
    wrong[np.arange(200), (y + 1) % 3] = 0.9
    assert fusion_weight(right, wrong, y, [0, 1, 2]) >= 0.9
    assert fusion_weight(wrong, right, y, [0, 1, 2]) <= 0.1


def _folder(tmp_path: Path, persons: dict[str, str] | None = None) -> Path:
    root = tmp_path / "photos"
    for letter in "ABC":
        (root / letter).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((20, 20, 3), 40 * i + 50, np.uint8)).save(root / letter / f"{i}.png")
    if persons is not None:
        lines = ["# file\tletter\tperson\tsource"] + [f"{f}\t{f[0]}\t{p}\tsrc-{p}" for f, p in persons.items()]
        (root / "SOURCES.tsv").write_text("\n".join(lines) + "\n")
    return root


def test_photo_folder_persons_and_person_split(tmp_path: Path) -> None:
    persons = {f"{letter}/{i}.png": f"p{i}" for letter in "ABC" for i in range(2)}
    ds = load_photo_dataset(_folder(tmp_path, persons))
    assert len(ds) == 6 and ds.person_ids == ("p0", "p1") and ds.sources[0] == "src-p0"
    fit, held = ds.split_by_person(fraction=0.3, seed=0)
    assert set(fit.persons).isdisjoint(held.persons) and len(fit) + len(held) == 6
    assert [p for p, _, _ in ds.leave_one_person_out()] == ["p0", "p1"]
    with pytest.raises(InvalidParameterError, match="two persons"):
        ds.of_persons(["p0"]).split_by_person()


def test_photo_folder_errors_name_the_problem(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"A/0.png": "p0"})
    (root / "SOURCES.tsv").write_text("# file\tletter\nA/0.png\tA\n")
    with pytest.raises(DatasetError, match=r"SOURCES\.tsv.*no 'person' column"):
        load_photo_dataset(root)
    (root / "SOURCES.tsv").write_text("# file\tperson\nA/0.png\t\n")
    with pytest.raises(DatasetError, match=r"row 2, column person: empty"):
        load_photo_dataset(root)
    (root / "J").mkdir()
    (root / "SOURCES.tsv").unlink()
    with pytest.raises(DatasetError, match="'J' is not one"):
        load_photo_dataset(root)
    with pytest.raises(DatasetError, match="does not exist"):
        load_photo_dataset(tmp_path / "nowhere")


def test_observations_are_cached_by_content(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = _folder(tmp_path)
    files = sorted(root.glob("*/*.png"))
    first = observe_photos(files, cache_dir=tmp_path / "cache", workers=1)
    entries = sorted((tmp_path / "cache" / "observations").rglob("*.npz"))
    assert len(entries) == len({f.read_bytes() for f in files})  # identical photos share an entry
    again = observe_photos(files, cache_dir=tmp_path / "cache", workers=1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
    damaged = next(e for e in entries if e.stem == _key(files[0]))
    damaged.write_bytes(b"damaged")  # a damaged entry is recomputed, not fatal
    with caplog.at_level(logging.DEBUG, logger="asl_recognition.photo.observe"):  # a small batch: DEBUG
        assert len(observe_photos(files, cache_dir=tmp_path / "cache", workers=1)) == len(files)
    sharing = sum(f.read_bytes() == files[0].read_bytes() for f in files)  # photos of that entry
    assert f"observed {len(files)} photo(s), {len(files) - sharing} from the cache" in caplog.text


def test_worker_processes_observe_what_this_process_would(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(0)
    files = []
    for i in range(3 + MIN_PARALLEL):  # three cached, enough others for the worker processes
        files.append(tmp_path / "photos" / f"{i}.png")
        files[-1].parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(files[-1])
    observe_photos(files[:3], cache_dir=tmp_path / "cache", workers=1)  # three already cached
    with caplog.at_level(logging.INFO, logger="asl_recognition.photo.observe"):
        in_workers = observe_photos(files, cache_dir=tmp_path / "cache", workers=2)
    assert f"observed {len(files)} photo(s), 3 from the cache" in caplog.text
    assert "worker failed" not in caplog.text
    here = observe_photos(files[::5], cache=False)  # a sample, observed in this process
    for a, b in zip(in_workers[::5], here, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        assert (a.pose is None) == (b.pose is None)


def test_observation_round_trips_through_its_cache_format() -> None:
    obs = _observation(_pose_of(_hand(), side=0.2))
    with np.load(io.BytesIO(_to_npz(obs)), allow_pickle=False) as data:
        back = _from_npz(data)
    assert back.pose is not None and obs.pose is not None and back.photo_size == obs.photo_size
    np.testing.assert_allclose(back.pose.points3d, obs.pose.points3d)
    np.testing.assert_allclose(back.pose.world, obs.pose.world)  # type: ignore[arg-type]
    assert back.pose.side_score == pytest.approx(0.2) and back.pose.attempt == "photo"
    empty = _observation(None)
    with np.load(io.BytesIO(_to_npz(empty)), allow_pickle=False) as data:
        assert _from_npz(data).hand is None


def test_unreadable_photo_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(InvalidParameterError, match=r"bad\.jpg"):
        observe_photos([bad], cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alpha": -1}, "'alpha' must be >= 0"),
        ({"hidden": [0]}, r"'hidden\[0\]' must be an integer >= 1"),
        ({"validation_fraction": 1.0}, r"'validation_fraction' must be in \(0, 1\)"),
        ({"workers": True}, "'workers' must be None or an integer >= 1"),
        ({"pixel": 3}, "'pixel' must be"),
        ({"photos_train": "/nowhere/at/all"}, "is not a folder"),
        ({"balance": "letter"}, "'balance' must be one of person, none, got 'letter'"),
    ],
)
def test_photo_trainer_names_a_bad_parameter(params: dict[str, object], message: str) -> None:
    from asl_recognition import get_trainer

    with pytest.raises(InvalidParameterError, match=message):
        get_trainer("photo", **params)


def test_photo_trainer_with_a_job_reference_needs_the_job() -> None:
    from asl_recognition import get_trainer
    from asl_recognition.testing import synthetic_dataset

    trainer = get_trainer("photo", pixel="cnn_fast")
    assert trainer.job_models == ("cnn_fast",)  # type: ignore[attr-defined]
    with pytest.raises(InvalidParameterError, match="trainer of a main job"):
        trainer.fit(synthetic_dataset(2, seed=0))


def test_person_weights_give_every_person_the_same_total() -> None:
    persons = ["a"] * 30 + ["b"] * 5 + [SIGN_MNIST_PERSON] * 65
    w = person_weights(persons)
    assert w.mean() == pytest.approx(1.0)
    totals = {p: w[np.array(persons) == p].sum() for p in set(persons)}
    assert max(totals.values()) == pytest.approx(min(totals.values()))
    assert person_weights([]).shape == (0,)


@pytest.mark.parametrize("balance", ["person", "none"])
def test_a_person_with_many_photos_does_not_outvote_the_others(balance: str) -> None:
    """The same hand shape is letter 0 for a person with 20x more photos and letter 1 for
    another: balanced by person the pose expert is unsure; unbalanced the big person wins."""
    from asl_recognition.trainers.photo import PhotoTrainer

    rng = np.random.default_rng(0)
    shared = np.stack([_hand(k) for k in range(4)])
    other = np.stack([_hand(100 + k) @ _rotation_z(1.2).T for k in range(4)])
    hands = np.concatenate([shared[rng.integers(4, size=400)], shared[rng.integers(4, size=20)],
                            other[rng.integers(4, size=200)]])  # fmt: skip
    labels = np.concatenate([np.zeros(400), np.ones(20), np.full(200, 2)]).astype(np.int64)
    persons = np.array(["big"] * 400 + ["small"] * 20 + [SIGN_MNIST_PERSON] * 200)
    trainer = PhotoTrainer(hidden=(16,), augment_copies=0, balance=balance, max_iter=200, early_stopping="rows",
                           members=1)  # balancing alone: no held-out persons
    pose = trainer._fit_pose(hands, labels, persons, seed=0)
    p_small = pose.predict_proba(shape_features(shared))[:, pose.labels.index(1)].mean()
    if balance == "person":
        assert 0.25 < p_small < 0.75
    else:
        assert p_small < 0.2


def test_photo_trainer_prepares_what_its_fit_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``prepare`` (run by the main job while the pixel expert trains) leaves in the cache the
    Sign MNIST crop readings and photo observations that ``fit`` looks up, under the same keys."""
    from asl_recognition.photo.hand_models import PALM_MODEL, hand_model_dir
    from asl_recognition.photo.observe import observation_cache_dir, read_crops_cached
    from asl_recognition.testing import synthetic_dataset
    from asl_recognition.trainers.photo import PhotoTrainer

    models = hand_model_dir()
    if models is None:
        pytest.skip("the hand models are not installed")
    monkeypatch.setenv("ASL_HAND_MODELS", str(models[PALM_MODEL].parent))
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))  # empty: what prepare writes is new
    persons = {f"{letter}/{i}.png": f"p{i}" for letter in "ABC" for i in range(2)}
    folder = _folder(tmp_path, persons)
    train = synthetic_dataset(2, seed=0)
    trainer = PhotoTrainer(photos_train=folder, mnist_stride=3)
    trainer.prepare(train)
    written = set(observation_cache_dir().rglob("*.npz"))
    crops = {p for p in written if p.parent.name == "crops"}
    assert len(crops) == 1 and len(written - crops) == len({f.read_bytes() for f in folder.rglob("*.png")})
    expected = read_crops_cached(np.asarray(train.images)[::3])  # fit's batch: found in the cache
    assert set(observation_cache_dir().rglob("*.npz")) == written
    np.testing.assert_array_equal(expected.presence, np.load(next(iter(crops)))["presence"])


def test_the_default_photo_recogniser_trains_a_cnn_pixel_expert() -> None:
    """``get_trainer("photo")`` keeps the 28x28 path (the test file) at a CNN's accuracy; the
    config schema shows that default, and ``pixel=None`` is the pose expert alone."""
    import dataclasses

    from asl_recognition import get_trainer
    from asl_recognition.config import params_schema
    from asl_recognition.trainers.cnn.backend import KerasCnnTrainer
    from asl_recognition.trainers.photo import PhotoTrainer

    trainer = get_trainer("photo")
    assert trainer.params["pixel"] == {"name": "cnn"}  # type: ignore[attr-defined]
    assert isinstance(trainer._pixel_trainer, KerasCnnTrainer)  # type: ignore[attr-defined]
    assert get_trainer("photo", pixel=None).params["pixel"] is None  # type: ignore[attr-defined]
    field = next(f for f in dataclasses.fields(params_schema(PhotoTrainer)) if f.name == "pixel")
    assert field.default_factory() == {"name": "cnn"}  # type: ignore[misc]


def test_predict_says_when_no_hand_was_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``asl-recognition predict`` marks a photo whose hand it did not find (its centre was read)."""
    from asl_recognition import get_trainer
    from asl_recognition.cli import main
    from asl_recognition.testing import synthetic_dataset

    train = synthetic_dataset(3, seed=0)
    model_dir = get_trainer("sklearn", max_iter=30).fit(train, seed=0).model.save(tmp_path / "model")
    photo = tmp_path / "wall.png"
    Image.fromarray(np.full((60, 80, 3), (90, 110, 160), np.uint8)).save(photo)  # a blue wall, no hand
    crop = tmp_path / "crop.png"
    Image.fromarray(train.images[0].reshape(28, 28).astype(np.uint8)).save(crop)  # a 28x28 crop is no photo
    assert main(["predict", "--model", str(model_dir), str(photo), str(crop)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{photo}: ") and lines[0].endswith("[no hand found: the centre of the image was read]")
    assert lines[1].startswith(f"{crop}: ") and "no hand found" not in lines[1]


def test_person_early_stopping_trains_as_long_as_held_out_persons_gain() -> None:
    """``early_stopping="person"`` picks each network's epochs on persons it was not trained on:
    when the persons sign every letter alike, held-out persons keep gaining (many epochs); when
    the held-out person signs otherwise than the training persons, it stops early."""
    from asl_recognition.trainers.photo import PhotoTrainer

    rng = np.random.default_rng(0)
    shapes = np.stack([_hand(k) @ _rotation_z(0.5 * k).T for k in range(3)])  # three letters
    persons = np.repeat(np.array(["p1", "p2", "p3", "p4"]), 60)
    letters = np.tile(np.repeat(np.arange(3), 20), 4)
    hands = shapes[letters] + rng.normal(0, 0.004, (len(letters), 21, 3))
    labels = np.asarray(VALID_LABELS)[letters]
    trainer = PhotoTrainer(hidden=(16,), augment_copies=0, max_iter=60, members=2)
    alike = trainer._epochs_for_unseen_persons(hands, labels, persons, ["p1", "p2", "p3", "p4"], seed=0)
    # p1 (the one held out) signs otherwise than the others: the more the network learns
    # them, the worse it reads p1
    own = np.asarray(VALID_LABELS)[(letters + np.repeat([1, 0, 0, 0], 60)) % 3]
    unrelated = trainer._epochs_for_unseen_persons(hands, own, persons, ["p1"], seed=0)
    # alike: still gaining when max_iter ends; otherwise: stops once the network tells the hands apart
    assert alike == trainer.max_iter and unrelated < alike / 2, (alike, unrelated)
    pose = trainer._fit_pose(hands, labels, persons, seed=0)
    assert len(pose.members) == 2
    assert (pose.predict_proba(shape_features(shapes)).argmax(1) == np.arange(3)).all()
