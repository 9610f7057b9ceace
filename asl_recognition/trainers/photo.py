"""The ``photo`` backend: the recommended recogniser of real photos (a :class:`PhotoModel`).

``get_trainer("photo", photos_train=PATH | None, pixel=SPEC | MODEL | None).fit(train, ...)``:

1. **Hands of Sign MNIST**: the landmark model reads every ``mnist_stride``-th training image
   (the training file is augmented near-duplicates of few photos, so a stride loses little),
   cached on disk by content.
2. **Hands of the photo folder** (``photos_train``, optional, ``<LETTER>/*.jpg`` with a
   ``SOURCES.tsv`` person column): each photo's observation, cached on disk by content.
3. **Pose expert**: ``members`` small ReLU networks on hand-shape features, their
   probabilities averaged, trained on those hands and ``augment_copies`` synthetic variations
   of each (:mod:`asl_recognition.photo.hand_augment`). Each network trains for the number of
   epochs after which it reads persons it was not trained on best (``early_stopping="person"``:
   some persons of the photo folder held out, then a refit on all), so that training stops
   where it starts to learn the seen persons rather than the letters.
   With ``balance="person"`` (the default) every person counts the same in the loss, whatever
   their number of photos: each training hand is weighted by one over its person's count, and
   Sign MNIST's hands count as one more person (:func:`person_weights`). The recogniser is
   meant for people it never saw, so no one person's way of signing, photographed a thousand
   times, may dominate what it learns.
4. **Pixel expert** (``pixel``): a trainer spec (trained here on ``train``/``validation``; by
   default :data:`DEFAULT_PIXEL`, the library's default CNN), a trained model, or None (the pose
   expert alone, also on 28x28 crops).
5. **Fusion**: with both experts and a photo folder of at least two persons, the pose expert is
   first trained without the photos of held-out persons (:meth:`PhotoDataset.split_by_person`),
   and the mixing weight that gives the held-out photos the highest likelihood is kept; then the
   pose expert is retrained on all photos. Without photos the weight is 1 (pose expert alone
   on photos with landmarks): nothing is fitted to photos the experts have seen.

Metrics: ``validation_accuracy`` on the Sign MNIST validation split (the crop path), and, with
a photo folder, ``photo_validation_accuracy`` (held-out persons, the photo path before the
final refit) and ``photo_validation_accuracy[<person>]``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from asl_recognition._validation import Interval, StrOptions, check_param
from asl_recognition.errors import DatasetError, InvalidParameterError
from asl_recognition.models.base import TrainedModel
from asl_recognition.models.photo import PhotoModel, PoseClassifier, PoseEnsemble, observation_features
from asl_recognition.trainers.base import TrainResult, get_trainer, validation_metrics

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset
    from asl_recognition.data.photos import PhotoDataset

__all__ = ["DEFAULT_PIXEL", "PHOTOS_TRAIN_ENV", "SIGN_MNIST_PERSON", "PhotoTrainer", "fusion_weight", "person_weights"]

logger = logging.getLogger(__name__)

#: Environment variable naming the default training photo folder of the main job.
PHOTOS_TRAIN_ENV = "ASL_PHOTOS_TRAIN"
#: Candidate mixing weights of the pose expert (0 = pixel expert alone, 1 = pose alone).
WEIGHT_GRID = tuple(float(w) for w in np.round(np.linspace(0.0, 1.0, 21), 2))
#: Epochs without a better log-loss on held-out persons after which training stops.
PATIENCE = 10
#: The person that Sign MNIST's hands count as when training is balanced by person.
SIGN_MNIST_PERSON = "sign-language-mnist"
#: The default pixel expert: the library's default CNN (``conf/trainer/cnn.yaml``), which keeps
#: the recogniser's 28x28 path (the test file, greyscale images) at the CNN's accuracy; the main
#: job passes its own ``cnn_fast`` instead of training a second CNN.
DEFAULT_PIXEL: Mapping[str, Any] = MappingProxyType({"name": "cnn"})


def person_weights(persons: Sequence[str] | npt.NDArray[np.str_]) -> npt.NDArray[np.float64]:
    """Sample weights under which every person has the same total weight: one over the
    person's number of samples, scaled to a mean of 1.

    >>> person_weights(["a", "a", "a", "b"]).round(3).tolist()
    [0.667, 0.667, 0.667, 2.0]
    """
    if len(persons) == 0:
        return np.zeros(0)
    _, inverse, counts = np.unique(np.asarray(persons, dtype=object).astype(str), return_inverse=True,
                                   return_counts=True)  # fmt: skip
    w = 1.0 / counts[inverse]
    return np.asarray(w * (len(w) / w.sum()), np.float64)


def fusion_weight(pose: npt.ArrayLike, pixel: npt.ArrayLike, labels: npt.ArrayLike,
                  classes: Sequence[int]) -> float:  # fmt: skip
    """The weight ``w`` of :data:`WEIGHT_GRID` maximising the likelihood of ``labels`` under
    ``w * pose + (1 - w) * pixel`` (ties: the larger weight, i.e. the pose expert).

    >>> import numpy as np
    >>> pose = np.array([[0.9, 0.1], [0.8, 0.2]]); pixel = np.array([[0.1, 0.9], [0.2, 0.8]])
    >>> fusion_weight(pose, pixel, [0, 0], [0, 1])
    1.0
    """
    p, q = np.asarray(pose, np.float64), np.asarray(pixel, np.float64)
    column = {c: i for i, c in enumerate(classes)}
    idx = np.array([column[int(y)] for y in np.asarray(labels).ravel()])
    rows = np.arange(len(idx))
    best, best_ll = 1.0, -np.inf
    for w in sorted(WEIGHT_GRID, reverse=True):
        ll = float(np.log(np.maximum(w * p[rows, idx] + (1 - w) * q[rows, idx], 1e-12)).sum())
        if ll > best_ll + 1e-9:
            best, best_ll = w, ll
    return best


class PhotoTrainer:
    """Train a :class:`~asl_recognition.models.photo.PhotoModel` (see the module docstring).

    Args:
        photos_train: a folder of labelled training photos, or None (Sign MNIST alone).
        pixel: the pixel expert: ``{name: BACKEND, params: {...}}`` (default
            :data:`DEFAULT_PIXEL`), a trained model, the key of an earlier trainer of the main job
            (``pixel: cnn_fast``), or None (no pixel expert: 28x28 crops are read by the pose
            expert too, far below a CNN on the test file).
        hidden: the pose expert's hidden layer widths.
        alpha: its L2 penalty.
        max_iter: its largest number of training epochs.
        members: networks in the pose expert, each with its own seed (and held-out persons),
            their probabilities averaged.
        early_stopping: ``"person"``: each network trains for as many epochs as read held-out
            persons of the photo folder best (:meth:`_epochs_for_unseen_persons`; needs at
            least two persons, else ``"rows"`` is used); ``"rows"``: scikit-learn's early
            stopping on 10 % of the training rows (their augmented copies and photos of the
            same persons included, so it measures persons already seen).
        augment_copies: synthetic variations per training hand.
        balance: ``"person"``: every person (Sign MNIST's hands counted as one) has the same
            weight in the pose expert's loss; ``"none"``: every hand the same weight.
        mnist_stride: read every ``mnist_stride``-th Sign MNIST training image.
        validation_fraction: share of the photos (whole persons) held out to learn the fusion.
        workers: processes for hand detection in photos (None: the CPUs available, at most 4).
    """

    name = "photo"

    def __init__(
        self,
        *,
        photos_train: str | os.PathLike[str] | None = None,
        pixel: str | Mapping[str, Any] | TrainedModel | None = DEFAULT_PIXEL,
        hidden: Sequence[int] = (256, 128),
        alpha: float = 1e-3,
        max_iter: int = 300,
        augment_copies: int = 2,
        balance: str = "person",
        members: int = 5,
        early_stopping: str = "person",
        mnist_stride: int = 4,
        validation_fraction: float = 0.25,
        workers: int | None = None,
    ) -> None:
        if photos_train is not None and not isinstance(photos_train, (str, os.PathLike)):
            raise InvalidParameterError(f"'photos_train' must be a folder path or None, got {photos_train!r}")
        self.photos_train = None if photos_train in (None, "") else Path(photos_train)  # type: ignore[arg-type]
        if self.photos_train is not None and not self.photos_train.is_dir():
            raise InvalidParameterError(f"'photos_train': {self.photos_train} is not a folder")
        self._pixel_model: TrainedModel | None = None
        self._pixel_trainer: Any = None
        #: the main job's trainer whose model is the pixel expert (``pixel: cnn_fast``)
        self.job_models: tuple[str, ...] = ()
        if isinstance(pixel, str):
            self.job_models = (pixel,)
        elif isinstance(pixel, TrainedModel):
            self._pixel_model = pixel
        elif isinstance(pixel, Mapping) and isinstance(pixel.get("name"), str):
            self._pixel_trainer = get_trainer(pixel["name"], **dict(pixel.get("params") or {}))
        elif pixel is not None:
            raise InvalidParameterError(f"'pixel' must be {{name: BACKEND, params: {{...}}}}, a trained model, "
                                        f"a trainer of the main job, or None, got {pixel!r}")  # fmt: skip
        layers = tuple(hidden)
        if not layers:
            raise InvalidParameterError("'hidden' must name at least one layer width")
        for i, width in enumerate(layers):
            check_param(f"hidden[{i}]", width, Interval(int, 1, None))
        self.hidden = layers
        self.alpha = float(check_param("alpha", alpha, Interval(float, 0, None)))
        self.max_iter = int(check_param("max_iter", max_iter, Interval(int, 1, None)))
        self.augment_copies = int(check_param("augment_copies", augment_copies, Interval(int, 0, None)))
        self.balance = str(check_param("balance", balance, StrOptions(["person", "none"])))
        self.members = int(check_param("members", members, Interval(int, 1, None)))
        self.early_stopping = str(check_param("early_stopping", early_stopping, StrOptions(["person", "rows"])))
        self.mnist_stride = int(check_param("mnist_stride", mnist_stride, Interval(int, 1, None)))
        self.validation_fraction = float(check_param("validation_fraction", validation_fraction,
                                                     Interval(float, 0, 1, closed="neither")))  # fmt: skip
        self.workers = check_param("workers", workers, None, Interval(int, 1, None))
        self.params: dict[str, Any] = {
            "photos_train": None if self.photos_train is None else str(self.photos_train),
            "pixel": pixel.metadata.backend if isinstance(pixel, TrainedModel) else
                     (dict(pixel) if isinstance(pixel, Mapping) else pixel),
            "hidden": list(layers), "alpha": self.alpha, "max_iter": self.max_iter,
            "augment_copies": self.augment_copies, "balance": self.balance, "members": self.members,
            "early_stopping": self.early_stopping, "mnist_stride": self.mnist_stride,
            "validation_fraction": validation_fraction,
        }  # fmt: skip

    def use_job_models(self, models: Mapping[str, TrainedModel]) -> None:
        """Take the main job's model named by ``pixel`` as the pixel expert."""
        for key in self.job_models:
            if key not in models:
                raise InvalidParameterError(f"photo: the job has no trained model {key!r} for 'pixel'")
            self._pixel_model = models[key]

    # -- data --------------------------------------------------------------------------------
    def prepare(self, train: Dataset) -> None:
        """Fill the on-disk caches that ``fit(train, ...)`` reads: the hands of the Sign MNIST
        images it uses and of the photo folder (:class:`~asl_recognition.trainers.base.Preparer`;
        the main job runs this while the pixel expert trains). Photos are observed in this
        process unless ``workers`` was given."""
        from asl_recognition.data.photos import load_photo_dataset
        from asl_recognition.photo.observe import observe_photos, read_crops_cached

        read_crops_cached(self._mnist_images(train))
        if self.photos_train is not None:
            observe_photos(list(load_photo_dataset(self.photos_train).files),
                           workers=1 if self.workers is None else self.workers)  # fmt: skip

    def _mnist_rows(self, train: Dataset) -> npt.NDArray[np.intp]:
        return np.arange(0, len(train), self.mnist_stride)

    def _mnist_images(self, train: Dataset) -> npt.NDArray[np.uint8]:
        return np.asarray(train.images)[self._mnist_rows(train)]

    def _mnist_hands(self, train: Dataset) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        from asl_recognition.photo.hand_shape import canonical_hands
        from asl_recognition.photo.handpose import MIN_PRESENCE
        from asl_recognition.photo.mirror import is_other_side
        from asl_recognition.photo.observe import read_crops_cached

        idx = self._mnist_rows(train)
        r = read_crops_cached(self._mnist_images(train))
        keep = r.presence >= MIN_PRESENCE
        other = np.array([is_other_side(s) for s in r.side])
        logger.info("photo: hands read in %d of %d Sign MNIST images", int(keep.sum()), len(idx))
        return canonical_hands(r.points, r.world, other)[keep], np.asarray(train.labels)[idx][keep]

    def _photo_hands(self, photos: PhotoDataset) -> tuple[list[Any], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        from asl_recognition.photo.hand_shape import canonical_hands
        from asl_recognition.photo.mirror import is_other_side
        from asl_recognition.photo.observe import observe_photos

        observations = observe_photos(list(photos.files), workers=self.workers)
        poses = [o.pose for o in observations]
        found = np.array([p is not None for p in poses])
        hands = np.zeros((len(poses), 21, 3))
        if found.any():
            got = [p for p in poses if p is not None]
            world = np.stack([np.zeros((21, 3)) if p.world is None else p.world for p in got])
            hands[found] = canonical_hands(np.stack([p.points3d for p in got]), world,
                                           np.array([is_other_side(p.side_score) for p in got]))  # fmt: skip
        logger.info("photo: hands found in %d of %d training photos", int(found.sum()), len(found))
        return observations, hands, found

    # -- pose expert -------------------------------------------------------------------------
    def _fit_pose(self, hands: npt.NDArray[np.float64], labels: npt.NDArray[np.int64],
                  persons: npt.NDArray[np.str_], seed: int) -> PoseEnsemble:  # fmt: skip
        """The pose expert: ``members`` networks, member ``k`` with seed ``seed + 1000 k``."""
        return PoseEnsemble(tuple(self._fit_network(hands, labels, persons, seed + 1000 * k)
                                  for k in range(self.members)))  # fmt: skip

    def _rows(
        self, hands: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], persons: npt.NDArray[np.str_], seed: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float64] | None]:
        """Training rows: the hands' features and ``augment_copies`` varied copies of each, their
        labels, and their weights (None: all the same)."""
        from asl_recognition.photo.hand_augment import augment_hands
        from asl_recognition.photo.hand_shape import shape_features

        x = [shape_features(hands)]
        y = [labels]
        who = [persons]
        if self.augment_copies:
            x.append(shape_features(augment_hands(hands, copies=self.augment_copies, seed=seed)))
            y.append(np.repeat(labels, self.augment_copies))
            who.append(np.repeat(persons, self.augment_copies))
        weights = person_weights(np.concatenate(who)) if self.balance == "person" else None
        return np.concatenate(x), np.concatenate(y), weights

    def _network(self, seed: int, **options: Any) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=self.hidden, alpha=self.alpha, random_state=seed, **options)

    def _fit_network(self, hands: npt.NDArray[np.float64], labels: npt.NDArray[np.int64],
                     persons: npt.NDArray[np.str_], seed: int) -> PoseClassifier:  # fmt: skip
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.preprocessing import StandardScaler

        photo_persons = sorted(set(persons.tolist()) - {SIGN_MNIST_PERSON})
        if self.early_stopping == "person" and len(photo_persons) >= 2:
            epochs = self._epochs_for_unseen_persons(hands, labels, persons, photo_persons, seed)
            mlp = self._network(seed, max_iter=epochs, n_iter_no_change=epochs + 1)
        else:
            mlp = self._network(seed, max_iter=self.max_iter, early_stopping=True)
        features, targets, weights = self._rows(hands, labels, persons, seed)
        scaler = StandardScaler().fit(features)
        with warnings.catch_warnings():  # stopping after `epochs` is the point, not a failure
            if not mlp.early_stopping:
                warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(scaler.transform(features), targets, sample_weight=weights)
        return PoseClassifier.from_sklearn(scaler, mlp)

    def _epochs_for_unseen_persons(self, hands: npt.NDArray[np.float64], labels: npt.NDArray[np.int64],
                                   persons: npt.NDArray[np.str_], photo_persons: Sequence[str],
                                   seed: int) -> int:  # fmt: skip
        """Training epochs after which the network reads persons it was not trained on best:
        ``validation_fraction`` of the photo persons (at least one, drawn with ``seed``) are
        held out, the network trains on the others epoch by epoch, and the epoch with the
        lowest log-loss on the held-out persons' hands is kept (after :data:`PATIENCE`
        epochs without improvement the search stops)."""
        from sklearn.preprocessing import StandardScaler

        from asl_recognition.photo.hand_shape import shape_features

        rng = np.random.default_rng(seed)
        n_held = max(1, round(self.validation_fraction * len(photo_persons)))
        held = np.isin(persons, rng.choice(np.asarray(photo_persons), size=n_held, replace=False))
        features, targets, weights = self._rows(hands[~held], labels[~held], persons[~held], seed)
        scaler = StandardScaler().fit(features)
        x, x_held = scaler.transform(features), scaler.transform(shape_features(hands[held]))
        w_held = person_weights(persons[held]) if self.balance == "person" else np.ones(int(held.sum()))
        mlp = self._network(seed)
        classes = np.unique(labels)
        column = np.searchsorted(classes, labels[held])
        best, best_loss, since = 1, np.inf, 0
        for epoch in range(1, self.max_iter + 1):
            mlp.partial_fit(x, targets, classes=classes, sample_weight=weights)
            p = mlp.predict_proba(x_held)[np.arange(len(column)), column]
            loss = float(np.average(-np.log(np.maximum(p, 1e-12)), weights=w_held))
            if loss < best_loss - 1e-4:
                best, best_loss, since = epoch, loss, 0
            else:
                since += 1
                if since >= PATIENCE:
                    break
        logger.debug("photo: pose network (seed %d) reads held-out persons best after %d epoch(s)", seed, best)
        return best

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Train the experts and learn their fusion (see the module docstring)."""
        from asl_recognition.data.photos import load_photo_dataset

        start = time.perf_counter()
        timings: dict[str, float] = {}
        hands, labels = self._mnist_hands(train)
        persons = np.full(len(labels), SIGN_MNIST_PERSON)
        timings["mnist_hands_s"] = time.perf_counter() - start

        if self.job_models and self._pixel_model is None:
            raise InvalidParameterError(
                f"photo: pixel {self.job_models[0]!r} names a trainer of a main job; run it with run_job (listed "
                "after that trainer), or pass a trainer spec or a trained model"
            )
        pixel = self._pixel_model
        if self._pixel_trainer is not None:
            t = time.perf_counter()
            pixel = self._pixel_trainer.fit(train, validation=validation, seed=seed).model
            timings["pixel_fit_s"] = time.perf_counter() - t

        metrics: dict[str, float] = {}
        weight = 1.0
        if self.photos_train is not None:
            t = time.perf_counter()
            photos = load_photo_dataset(self.photos_train)
            observations, photo_hands, found = self._photo_hands(photos)
            timings["photo_hands_s"] = time.perf_counter() - t
            photo_labels = photos.labels
            photo_persons = np.asarray(photos.persons, dtype=str)
            if len(photos.person_ids) >= 2:
                _, held = photos.split_by_person(fraction=self.validation_fraction, seed=seed)
                held_set = set(held.persons)
                is_held = np.array([p in held_set for p in photos.persons])
                fit_rows = found & ~is_held
                pose = self._fit_pose(np.concatenate([hands, photo_hands[fit_rows]]),
                                      np.concatenate([labels, photo_labels[fit_rows]]),
                                      np.concatenate([persons, photo_persons[fit_rows]]), seed)  # fmt: skip
                held_obs = [o for o, h in zip(observations, is_held, strict=True) if h]
                probe = PhotoModel(pose=pose, pixel=pixel, photo_weight=1.0 if pixel is None else 0.5)
                experts = probe.expert_probabilities(held_obs)
                if pixel is not None:
                    _, held_found = observation_features(held_obs)
                    weight = fusion_weight(experts["pose"][held_found], experts["pixel"][held_found],
                                           photo_labels[is_held][held_found], pose.labels)  # fmt: skip
                probe.photo_weight = weight
                metrics.update(_photo_metrics(probe, held_obs, photo_labels[is_held],
                                              [p for p, h in zip(photos.persons, is_held, strict=True) if h]))
                logger.info("photo: fusion weight of the pose expert %.2f (held-out persons: %s)", weight,
                            ", ".join(sorted(held_set)))  # fmt: skip
            hands = np.concatenate([hands, photo_hands[found]])
            labels = np.concatenate([labels, photo_labels[found]])
            persons = np.concatenate([persons, photo_persons[found]])
        if len(np.unique(labels)) < 2:
            raise DatasetError(
                f"photo: the hand landmarks were read in {len(labels)} training image(s) of "
                f"{len(np.unique(labels))} letter(s); the pose expert needs hands of at least two letters "
                "(are these images of hands, and are the hand models installed?)"
            )
        t = time.perf_counter()
        pose = self._fit_pose(hands, labels, persons, seed)
        timings["pose_fit_s"] = time.perf_counter() - t
        model = PhotoModel(pose=pose, pixel=pixel, photo_weight=weight if pixel is not None else 1.0)
        metrics.update(validation_metrics(model, validation))
        model.metadata.metrics.update(metrics)
        model.metadata.extra["photos_train"] = self.params["photos_train"]
        timings["fit_s"] = time.perf_counter() - start
        return TrainResult(model=model, metrics=metrics, hyperparameters=dict(self.params), timings=timings,
                           backend=self.name)  # fmt: skip


def _photo_metrics(model: PhotoModel, observations: Sequence[Any], labels: npt.NDArray[np.int64],
                   persons: Sequence[str]) -> dict[str, float]:  # fmt: skip
    predicted = model.predict_photos([], observations=observations)
    right = predicted == labels
    out = {"photo_validation_accuracy": float(right.mean()), "photo_validation_size": float(len(right))}
    for person in sorted(set(persons)):
        mine = np.array([p == person for p in persons])
        out[f"photo_validation_accuracy[{person}]"] = float(right[mine].mean())
    return out
