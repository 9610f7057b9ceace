"""Load a folder of labelled real photos (``<LETTER>/*.jpg|jpeg|png``) for evaluation.

Every photo goes through :func:`asl_recognition.images.preprocess_image`, the one
preprocessing function shared with the scoring service, so the comparison sees exactly what a
deployed model would.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asl_recognition.data.letters import VALID_LETTERS, letter_to_label
from asl_recognition.errors import AslRecognitionError, DatasetError

__all__ = ["PHOTO_SUFFIXES", "load_photo_folder"]

logger = logging.getLogger(__name__)

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


def load_photo_folder(
    path: str | os.PathLike[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], list[str]]:
    """Return ``(images (N, 28, 28) uint8, labels (N,), relative file names)``.

    Raises:
        DatasetError: the folder does not exist, a sub-folder is not a static letter, it holds
            no photos, or a photo cannot be read (the message names the file).
    """
    from asl_recognition.images import preprocess_image  # lazy: owned by the images module

    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"photo folder {root} does not exist or is not a directory")
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    names: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if sub.name.upper() not in VALID_LETTERS:
            raise DatasetError(
                f"{sub}: photo sub-folders must be named after a static letter "
                f"({''.join(VALID_LETTERS)}); {sub.name!r} is not one"
            )
        label = letter_to_label(sub.name)
        for f in sorted(sub.iterdir()):
            if not f.is_file() or f.suffix.lower() not in PHOTO_SUFFIXES:
                if not f.name.startswith("."):
                    logger.debug("skipping %s (not a .jpg/.jpeg/.png file)", f)
                continue
            try:
                img = np.asarray(preprocess_image(f), dtype=np.uint8)
            except AslRecognitionError as exc:
                raise DatasetError(f"{f}: cannot use this photo: {exc}") from exc
            except (OSError, ValueError) as exc:
                raise DatasetError(f"{f}: cannot read this photo: {exc}") from exc
            images.append(img)
            labels.append(label)
            names.append(f.relative_to(root).as_posix())
    if not images:
        raise DatasetError(f"photo folder {root} holds no photos: expected <LETTER>/*.jpg|jpeg|png sub-folders")
    logger.info("loaded %d photos of %d letters from %s", len(images), len(set(labels)), root)
    return np.stack(images), np.asarray(labels, dtype=np.int64), names
