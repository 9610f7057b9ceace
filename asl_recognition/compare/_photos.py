"""A folder of labelled real photos for evaluation: listed, observed once, scored per model.

The folder is listed by :func:`~asl_recognition.data.load_photo_dataset` (``<LETTER>/*.jpg|png``
and the ``person``/``source`` columns of ``SOURCES.tsv``); every photo is decoded and its hand
observed **once** (:func:`~asl_recognition.photo.observe_photos`, with its on-disk cache), and the
same observations go to every model through
:meth:`~asl_recognition.models.TrainedModel.predict_photos`: photo-native models read the hand's
landmarks, 28x28 models the observation's crop (what
:func:`~asl_recognition.images.preprocess_image` makes of the photo, as the service does).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from asl_recognition import progress
from asl_recognition.compare._metrics import confusion_matrix, per_label_recall, wilson_interval
from asl_recognition.compare._result import GroupAccuracy, PhotoEvaluation
from asl_recognition.data.letters import VALID_LETTERS
from asl_recognition.data.photos import PHOTO_SUFFIXES, PhotoDataset, load_photo_dataset
from asl_recognition.errors import DatasetError, InvalidParameterError
from asl_recognition.models import TrainedModel
from asl_recognition.photo.pipeline import HandObservation

__all__ = ["PHOTO_SUFFIXES", "PhotoSet", "evaluate_photos", "load_photo_folder", "load_photo_set"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PhotoSet:
    """A listed photo folder and the hand observation of each of its photos (same order)."""

    dataset: PhotoDataset
    observations: tuple[HandObservation, ...]

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        """``(N,)`` true label ids."""
        return self.dataset.labels

    @property
    def found(self) -> npt.NDArray[np.bool_]:
        """``(N,)`` whether a hand was found in each photo."""
        return np.array([o.hand is not None for o in self.observations], dtype=bool)

    def __len__(self) -> int:
        return len(self.observations)


def load_photo_set(path: str | os.PathLike[str], *, cache: bool = True) -> PhotoSet:
    """List the photo folder at ``path`` and observe each photo once.

    Args:
        path: a folder ``<LETTER>/*.jpg|jpeg|png`` (optionally with ``SOURCES.tsv``).
        cache: read and write the on-disk observation cache (a second run detects nothing).

    Raises:
        DatasetError: the folder does not exist, a sub-folder is not a static letter, it holds
            no photos, ``SOURCES.tsv`` is malformed, or a photo cannot be read (the message names
            the file).
    """
    from asl_recognition.photo.observe import observe_photos  # lazy: loads the hand detector

    dataset = load_photo_dataset(path)
    with progress.task(f"observing {len(dataset)} photos", total=len(dataset)) as task:

        def advance(done: int, total: int) -> None:
            task.advance(done - task.completed)

        try:
            observations = observe_photos(list(dataset.files), cache=cache, progress=advance)
        except InvalidParameterError as exc:
            raise DatasetError(f"photo folder {dataset.root}: cannot use a photo: {exc}") from exc
        task.advance(len(dataset) - task.completed)  # photos read from the cache report no progress
    found = sum(o.hand is not None for o in observations)
    logger.info("observed %d photos of %d persons in %s; a hand was found in %d", len(dataset),
                len(dataset.person_ids), dataset.root, found)  # fmt: skip
    return PhotoSet(dataset=dataset, observations=tuple(observations))


def load_photo_folder(
    path: str | os.PathLike[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], list[str]]:
    """Return ``(images (N, 28, 28) uint8, labels (N,), relative file names)``: each photo's
    28x28 crop as :func:`~asl_recognition.images.preprocess_image` makes it (a thin wrapper of
    :func:`load_photo_set`).

    Raises:
        DatasetError: as :func:`load_photo_set`.
    """
    photos = load_photo_set(path)
    images = np.stack([np.asarray(o.image, dtype=np.uint8) for o in photos.observations])
    return images, photos.labels, list(photos.dataset.names)


def _group_accuracy(groups: Sequence[str], correct: npt.NDArray[np.bool_],
                    found: npt.NDArray[np.bool_]) -> dict[str, GroupAccuracy]:  # fmt: skip
    """``{group: n, accuracy, 95% Wilson interval, hands found}`` in sorted group order."""
    keys = np.asarray(groups, dtype=object)
    out: dict[str, GroupAccuracy] = {}
    for name in sorted(set(groups)):
        mine = keys == name
        n, right = int(mine.sum()), int(correct[mine].sum())
        out[name] = GroupAccuracy(n=n, accuracy=right / n, ci=wilson_interval(right, n),
                                  hands_found=int(found[mine].sum()))  # fmt: skip
    return out


def evaluate_photos(model: TrainedModel, photos: PhotoSet) -> PhotoEvaluation:
    """Score ``model`` on ``photos`` from their shared observations (nothing is detected again)."""
    labels = photos.labels
    predicted = model.predict_photos([], observations=photos.observations)
    correct = predicted == labels
    found = photos.found
    cm = confusion_matrix(labels, predicted)
    n_correct = int(correct.sum())
    return PhotoEvaluation(
        n=len(labels),
        accuracy=n_correct / len(labels),
        accuracy_ci=wilson_interval(n_correct, len(labels)),
        per_letter_recall=dict(zip(VALID_LETTERS, per_label_recall(cm), strict=True)),
        confusion=cm.tolist(),
        per_person=_group_accuracy(photos.dataset.persons, correct, found),
        per_source=_group_accuracy(photos.dataset.sources, correct, found),
        hands_found=int(found.sum()),
        reads_photos=bool(model.reads_photos),
    )
