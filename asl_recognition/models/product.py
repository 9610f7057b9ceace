"""The ``product`` model flavour: one model from several, each judging the image in its own way.

:class:`ProductModel` multiplies its members' class probabilities and renormalises (Hinton
2002, "Training products of experts"; with equal weights it is the naive-Bayes combination of
experts whose errors are independent given the letter). A letter wins when every member finds
it plausible: one member's confident mistake is vetoed by another that finds the letter
unlikely. No weight is tuned: every member counts once. Probabilities are floored at
:data:`FLOOR` so that a member's zero vetoes a letter without erasing the others' ranking.

Why: a CNN on pixels and a classifier on hand landmarks
(:mod:`asl_recognition.photo.pose_features`) read a Sign MNIST image alike (both right), but
fail differently on a real photo: the CNN is misled by what Sign MNIST's rooms and light taught
it, the pose classifier by an imprecise landmark. On the development photos the product reads
more photos than either (``docs/photos.md``), while on the test file the CNN's confident right
answers carry it.

A saved product keeps each member's model directory under ``members/<name>/`` and loads each
with :func:`~asl_recognition.models.base.load_model`, whatever its flavour. The ``product``
trainer (:mod:`asl_recognition.trainers._product`) trains the members and combines them.

>>> import numpy as np
>>> combine_probabilities([np.array([[0.6, 0.4]]), np.array([[0.2, 0.8]])]).round(3).tolist()
[[0.273, 0.727]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import InvalidParameterError, ModelFormatError
from asl_recognition.models.base import ModelMetadata, TrainedModel, load_model, register_model_type, save_submodel

__all__ = ["FLOOR", "ProductModel", "check_member_name", "combine_probabilities"]

#: Smallest probability a member contributes (log of zero is minus infinity).
FLOOR = 1e-6
_MEMBERS_DIR = "members"


def combine_probabilities(members: Sequence[npt.ArrayLike]) -> npt.NDArray[np.float64]:
    """Renormalised product of ``(N, K)`` probability arrays (each floored at :data:`FLOOR`)."""
    logs = sum(np.log(np.maximum(np.asarray(p, dtype=np.float64), FLOOR)) for p in members)
    logs = np.asarray(logs, dtype=np.float64)
    logs -= logs.max(axis=1, keepdims=True)
    out = np.exp(logs)
    normalised: npt.NDArray[np.float64] = out / out.sum(axis=1, keepdims=True)
    return normalised


def check_member_name(name: str) -> str:
    """``name`` if it can name a member (and its folder), else :class:`InvalidParameterError`."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise InvalidParameterError(f"member names must be letters, digits, '_' or '-', got {name!r}")
    return name


@register_model_type("product")
class ProductModel(TrainedModel):
    """The product of its members' probabilities (see the module docstring).

    Args:
        members: name -> trained model; at least two, all with the same labels.
        metadata: None builds it (backend ``product``, the members' labels).
    """

    model_type = "product"

    def __init__(self, members: Mapping[str, TrainedModel], *, metadata: ModelMetadata | None = None) -> None:
        if len(members) < 2:
            raise InvalidParameterError(f"a product of experts needs at least two members, got {len(members)}")
        named = {check_member_name(str(k)): m for k, m in members.items()}
        labels = {m.labels for m in named.values()}
        if len(labels) != 1:
            raise ModelFormatError(f"members predict different labels: {sorted(labels)}")
        if metadata is None:
            metadata = ModelMetadata.create(
                model_type=self.model_type, backend="product", labels=next(iter(labels)),
                preprocessing={"members": {k: m.metadata.preprocessing for k, m in named.items()}},
                hyperparameters={"members": {k: m.metadata.backend for k, m in named.items()}},
            )  # fmt: skip
        super().__init__(metadata=metadata)
        self.members = named

    def set_threads(self, threads: int | None) -> None:
        """Cap the compute threads of the members that have their own pool (a server worker)."""
        for member in self.members.values():
            set_threads = getattr(member, "set_threads", None)
            if callable(set_threads):
                set_threads(threads)

    def member_probabilities(self, images: Any) -> dict[str, npt.NDArray[np.float32]]:
        """Each member's probabilities for ``images`` (for comparisons and diagnosis)."""
        return {name: m.predict_proba(images) for name, m in self.members.items()}

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        return combine_probabilities(list(self.member_probabilities(images).values()))

    @property
    def reads_photos(self) -> bool:  # type: ignore[override]
        """True when a member reads photos itself: the product then passes photos through."""
        return any(m.reads_photos for m in self.members.values())

    def predict_observations_proba(self, observations: Sequence[Any]) -> npt.NDArray[np.float64]:
        """The product of the members' probabilities for the same (shared) observations."""
        if not observations:
            return np.zeros((0, len(self.labels)))
        return combine_probabilities([m.predict_observations_proba(observations) for m in self.members.values()])

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        files: dict[str, str] = {}
        for name, member in self.members.items():
            files.update(save_submodel(member, directory, f"{_MEMBERS_DIR}/{name}", f"member:{name}"))
        return files

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> ProductModel:
        roles = [role.split(":") for role in metadata.files]
        names = [parts[1] for parts in roles if len(parts) == 2 and parts[0] == "member"]
        if len(names) < 2:
            raise ModelFormatError(f"{directory}: a product model lists fewer than two members")
        members = {name: load_model(directory / _MEMBERS_DIR / check_member_name(name)) for name in names}
        return cls(members, metadata=metadata)
