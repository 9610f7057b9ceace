"""Folders of labelled real photos: ``<LETTER>/*.jpg|jpeg|png``, optionally with ``SOURCES.tsv``.

A photo folder is a set of *people*: frames of one webcam burst are near-duplicates, so a
photo set is split by person, never at random (:meth:`PhotoDataset.split_by_person`,
:meth:`PhotoDataset.leave_one_person_out`). ``SOURCES.tsv`` (tab-separated, a header row whose
first column may be written ``# file``) names each photo's ``person`` and ``source``; without
it, or for photos it does not list, the person is the folder's name (one unknown person).

Only the file list is read here; decoding and hand detection happen where the photos are used
(:func:`asl_recognition.photo.observe_photos`, with its on-disk cache).

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for letter in "AB":
...     (root / letter).mkdir()
...     _ = (root / letter / "1.jpg").write_bytes(b"")
>>> ds = load_photo_dataset(root)
>>> len(ds), ds.letters, ds.persons
(2, ('A', 'B'), ('unknown', 'unknown'))
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asl_recognition.data.letters import VALID_LETTERS, label_to_letter, letter_to_label
from asl_recognition.errors import DatasetError, InvalidParameterError

__all__ = ["PHOTO_SUFFIXES", "SOURCES_FILE", "PhotoDataset", "load_photo_dataset"]

logger = logging.getLogger(__name__)

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
SOURCES_FILE = "SOURCES.tsv"
#: The person of photos that ``SOURCES.tsv`` does not name.
UNKNOWN_PERSON = "unknown"


@dataclasses.dataclass(frozen=True)
class PhotoDataset:
    """Labelled photo files and the person (and source) each shows.

    Attributes:
        root: the folder the photos were listed from.
        files: photo paths, sorted by letter then name.
        labels: ``(N,)`` label ids (0 = A ... 24 = Y).
        persons: the person each photo shows (``SOURCES.tsv``'s ``person`` column).
        sources: where each photo comes from (``SOURCES.tsv``'s ``source`` column, else the
            person).
    """

    root: Path
    files: tuple[Path, ...]
    labels: npt.NDArray[np.int64]
    persons: tuple[str, ...]
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.files)
        if not (len(self.labels) == len(self.persons) == len(self.sources) == n):
            raise InvalidParameterError(
                f"a photo dataset needs one label, person and source per file; got {n} files, "
                f"{len(self.labels)} labels, {len(self.persons)} persons, {len(self.sources)} sources"
            )

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"PhotoDataset({self.root}, {len(self)} photos, {len(set(self.persons))} persons)"

    @property
    def letters(self) -> tuple[str, ...]:
        """The letter of each photo."""
        return tuple(label_to_letter(int(x)) for x in self.labels)

    @property
    def names(self) -> tuple[str, ...]:
        """Each photo's path relative to :attr:`root` (``"A/1.jpg"``)."""
        return tuple(f.relative_to(self.root).as_posix() for f in self.files)

    @property
    def person_ids(self) -> tuple[str, ...]:
        """The distinct persons, sorted."""
        return tuple(sorted(set(self.persons)))

    def subset(self, indices: Sequence[int] | npt.NDArray[np.integer]) -> PhotoDataset:
        """The photos at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return PhotoDataset(root=self.root, files=tuple(self.files[i] for i in idx), labels=self.labels[idx],
                            persons=tuple(self.persons[i] for i in idx),
                            sources=tuple(self.sources[i] for i in idx))  # fmt: skip

    def of_persons(self, persons: Sequence[str]) -> PhotoDataset:
        """The photos of the given persons (each must occur)."""
        missing = set(persons) - set(self.persons)
        if missing:
            raise InvalidParameterError(f"no photos of {sorted(missing)} in {self.root}; persons: {self.person_ids}")
        wanted = set(persons)
        return self.subset([i for i, p in enumerate(self.persons) if p in wanted])

    def split_by_person(self, *, fraction: float = 0.2, seed: int = 0) -> tuple[PhotoDataset, PhotoDataset]:
        """``(fit part, validation part)``: whole persons go to validation until it holds at
        least ``fraction`` of the photos (at least one person, never all of them).

        Raises:
            InvalidParameterError: fewer than two persons, or ``fraction`` outside (0, 1).
        """
        if not 0.0 < fraction < 1.0:
            raise InvalidParameterError(f"'fraction' must be in (0, 1), got {fraction!r}")
        people = list(self.person_ids)
        if len(people) < 2:
            raise InvalidParameterError(f"a split by person needs two persons; {self.root} has {people}")
        order = np.random.default_rng(seed).permutation(len(people))
        counts = {p: self.persons.count(p) for p in people}
        held: list[str] = []
        for i in order[:-1]:
            held.append(people[i])
            if sum(counts[p] for p in held) >= fraction * len(self):
                break
        kept = [p for p in people if p not in held]
        return self.of_persons(kept), self.of_persons(held)

    def leave_one_person_out(self) -> Iterator[tuple[str, PhotoDataset, PhotoDataset]]:
        """``(person, the others' photos, that person's photos)`` for each person."""
        for person in self.person_ids:
            others = [p for p in self.person_ids if p != person]
            if others:
                yield person, self.of_persons(others), self.of_persons([person])


def _read_sources(path: Path) -> dict[str, tuple[str, str]]:
    """``SOURCES.tsv`` -> ``{relative file: (person, source)}``."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read it: {exc}") from exc
    if not rows:
        raise DatasetError(f"{path}: empty (a header row with 'file' and 'person' columns is expected)")
    header = [h.strip().lstrip("#").strip().lower() for h in rows[0]]
    for needed in ("file", "person"):
        if needed not in header:
            raise DatasetError(f"{path}: the header has no {needed!r} column (columns: {', '.join(header)})")
    i_file, i_person = header.index("file"), header.index("person")
    i_source = header.index("source") if "source" in header else i_person
    out: dict[str, tuple[str, str]] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(i_file, i_person, i_source):
            raise DatasetError(f"{path} row {n}: {len(row)} columns, the header has {len(header)}")
        person = row[i_person].strip()
        if not person:
            raise DatasetError(f"{path} row {n}, column person: empty")
        out[row[i_file].strip()] = (person, row[i_source].strip() or person)
    return out


def load_photo_dataset(path: str | os.PathLike[str]) -> PhotoDataset:
    """List the labelled photos of a folder ``<LETTER>/*.jpg|jpeg|png`` (see module doc).

    Raises:
        DatasetError: the folder does not exist, a sub-folder is not a static letter, it holds
            no photos, or ``SOURCES.tsv`` is malformed (the message names file, row and column).
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"photo folder {root} does not exist or is not a directory")
    sources_file = root / SOURCES_FILE
    sources = _read_sources(sources_file) if sources_file.is_file() else {}
    files: list[Path] = []
    labels: list[int] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if sub.name.upper() not in VALID_LETTERS:
            raise DatasetError(
                f"{sub}: photo sub-folders must be named after a static letter "
                f"({''.join(VALID_LETTERS)}); {sub.name!r} is not one"
            )
        for f in sorted(sub.iterdir()):
            if f.is_file() and f.suffix.lower() in PHOTO_SUFFIXES:
                files.append(f)
                labels.append(letter_to_label(sub.name))
            elif not f.name.startswith("."):
                logger.debug("skipping %s (not a .jpg/.jpeg/.png file)", f)
    if not files:
        raise DatasetError(f"photo folder {root} holds no .jpg/.jpeg/.png photos in letter sub-folders")
    names = [f.relative_to(root).as_posix() for f in files]
    unlisted = [n for n in names if n not in sources]
    if sources and unlisted:
        logger.warning("%s does not list %d photo(s) (e.g. %s): their person is %r", sources_file,
                       len(unlisted), unlisted[0], UNKNOWN_PERSON)  # fmt: skip
    people = tuple(sources.get(n, (UNKNOWN_PERSON, UNKNOWN_PERSON))[0] for n in names)
    origins = tuple(sources.get(n, (UNKNOWN_PERSON, UNKNOWN_PERSON))[1] for n in names)
    return PhotoDataset(root=root, files=tuple(files), labels=np.asarray(labels, dtype=np.int64), persons=people,
                        sources=origins)  # fmt: skip
