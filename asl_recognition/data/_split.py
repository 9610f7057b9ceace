"""Near-duplicate groups and leak-free (grouped, letter-stratified) validation splits.

The training file holds augmented variants (crops, brightness, small rotations) of far fewer
photos, so a random split puts near-copies of a validation image in the training part and
over-reports accuracy. Near-duplicates are found in a space where brightness and contrast no
longer matter: each image minus its own mean, divided by its own norm, then projected by PCA onto
its first ``n_components`` axes. There, a training image's nearest training neighbour is far closer
than almost any test image comes to a training image (the distances are in ``docs/data.md``).
Images closer than ``threshold`` are linked, and the connected components of that graph are the
groups. A split assigns whole groups to one side, letter by letter, so each letter's validation
share is close to ``fraction`` of its rows.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from asl_recognition._validation import Interval, check_param
from asl_recognition.errors import DatasetError

__all__ = [
    "DEFAULT_N_COMPONENTS",
    "DEFAULT_THRESHOLD",
    "check_fraction",
    "check_seed",
    "grouped_split",
    "near_duplicate_groups",
    "normalised_projection",
    "random_split",
]

_log = logging.getLogger(__name__)

#: Distance below which two images are near-duplicates, chosen by benchmarks/bench_data.py as
#: the one whose validation accuracy best predicts the test accuracy (benchmarks/results/data.md,
#: docs/data.md).
DEFAULT_THRESHOLD: float = 0.08
DEFAULT_N_COMPONENTS: int = 50
_BLOCK = 2048

IntArray = npt.NDArray[np.int64]


def check_fraction(fraction: float) -> float:
    """Return ``fraction`` as a float if it is strictly between 0 and 1, else raise.

    >>> check_fraction(0.2)
    0.2
    """
    return float(check_param("fraction", fraction, Interval(float, 0, 1, closed="neither")))


def check_seed(seed: int) -> int:
    """Return ``seed`` if it is a non-negative integer, else raise.

    >>> check_seed(3)
    3
    """
    return int(check_param("seed", seed, Interval(int, 0, None)))


def normalised_projection(
    images: npt.NDArray[np.uint8], n_components: int = DEFAULT_N_COMPONENTS
) -> npt.NDArray[np.float32]:
    """Per-image centred and unit-norm pixels, projected on their top PCA axes: ``(N, k)``."""
    x = images.reshape(len(images), -1).astype(np.float32)
    x -= x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x /= np.where(norms > 0, norms, 1.0)
    x -= x.mean(axis=0, keepdims=True)
    n, d = x.shape
    k = max(1, min(n_components, n, d))
    if n < d:  # fewer images than pixels: eigen-decompose the (n, n) Gram matrix instead
        values, vectors = _top_eigh((x @ x.T).astype(np.float64), k)
        scores = vectors * np.sqrt(np.clip(values, 0, None))
        return np.ascontiguousarray(scores, dtype=np.float32)
    _, axes = _top_eigh((x.T @ x).astype(np.float64), k)
    return np.ascontiguousarray(x @ axes.astype(np.float32))


def _top_eigh(
    sym: npt.NDArray[np.float64], k: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The ``k`` largest eigenvalues (descending) of a symmetric matrix and their vectors."""
    from scipy.linalg import eigh

    m = sym.shape[0]
    values, vectors = eigh(sym, subset_by_index=(m - k, m - 1))
    return values[::-1], vectors[:, ::-1]


def near_duplicate_groups(
    images: npt.NDArray[np.uint8],
    labels: IntArray | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    n_components: int = DEFAULT_N_COMPONENTS,
) -> IntArray:
    """Group ids ``(N,)``, numbered 0.. by first appearance, of near-duplicate components.

    With ``labels``, only images of the same label are linked (a near-copy under another label
    cannot inflate validation accuracy), which also makes the search ~24x cheaper.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    check_param("threshold", threshold, Interval(float, 0, None, closed="neither"))
    check_param("n_components", n_components, Interval(int, 1, None))
    n = len(images)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    p = normalised_projection(images, n_components)
    values = [None] if labels is None else np.unique(labels).tolist()
    parts = [np.arange(n) if v is None else np.flatnonzero(labels == v) for v in values]
    pairs = [_radius_pairs(p[idx], threshold) for idx in parts]
    r = np.concatenate([idx[i] for idx, (i, _) in zip(parts, pairs, strict=True)])
    c = np.concatenate([idx[j] for idx, (_, j) in zip(parts, pairs, strict=True)])
    graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n, n)).tocsr()
    _, comp = connected_components(graph, directed=False)
    # renumber by first appearance so ids do not depend on scipy's internal order
    _, first = np.unique(comp, return_index=True)
    order = np.argsort(np.argsort(first))
    groups: IntArray = order[comp].astype(np.int64)
    _log.info(
        "%d images form %d near-duplicate groups (threshold %g, %d PCA dims)",
        n, int(groups.max()) + 1, threshold, p.shape[1],
    )
    return groups


def _radius_pairs(
    p: npt.NDArray[np.float32], threshold: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """All pairs ``i < j`` of rows of ``p`` closer than ``threshold`` (blockwise matmuls)."""
    sq = np.einsum("ij,ij->i", p, p)
    limit = np.float32(threshold) ** 2
    rows: list[npt.NDArray[np.intp]] = [np.zeros(0, np.intp)]
    cols: list[npt.NDArray[np.intp]] = [np.zeros(0, np.intp)]
    for start in range(0, len(p), _BLOCK):
        stop = min(start + _BLOCK, len(p))
        # squared distances to rows j >= start only: the graph is symmetric
        d2 = p[start:stop] @ p[start:].T
        d2 *= -2.0
        d2 += sq[start:stop, None]
        d2 += sq[None, start:]
        i, j = np.nonzero(d2 <= limit)
        keep = j > i
        rows.append(i[keep] + start)
        cols.append(j[keep] + start)
    return np.concatenate(rows), np.concatenate(cols)


def grouped_split(
    labels: IntArray, groups: IntArray, *, fraction: float, seed: int
) -> tuple[IntArray, IntArray]:
    """Split row indices into ``(train, validation)`` by whole groups, stratified by letter.

    Each group belongs to its majority letter. For every letter, its groups are shuffled (with a
    generator seeded by ``seed``) and the prefix whose row count is closest to ``fraction`` of the
    letter's rows goes to validation, keeping at least one group on each side; a letter with a
    single group stays in training.

    Raises:
        InvalidParameterError: ``fraction`` not in (0, 1).
        DatasetError: fewer than 2 groups, or no letter has 2 groups to split.
    """
    fraction = check_fraction(fraction)
    seed = check_seed(seed)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups < 2:
        raise DatasetError(
            f"cannot split {len(labels)} images into train and validation: they form "
            f"{n_groups} near-duplicate group(s); at least 2 groups of the same letter are needed"
        )
    sizes = np.bincount(groups, minlength=n_groups)
    # majority letter of each group
    pair = groups * 26 + labels
    counts = np.bincount(pair, minlength=n_groups * 26).reshape(n_groups, 26)
    group_letter = counts.argmax(axis=1)
    rng = np.random.default_rng(seed)
    in_validation = np.zeros(n_groups, dtype=bool)
    for letter in np.unique(group_letter):
        members = np.flatnonzero(group_letter == letter)
        if len(members) < 2:
            _log.warning("letter %d has one near-duplicate group; it stays in training", letter)
            continue
        members = rng.permutation(members)
        cum = np.cumsum(sizes[members])
        target = fraction * cum[-1]
        k = 1 + int(np.argmin(np.abs(cum[:-1] - target)))  # 1..len-1 groups to validation
        in_validation[members[:k]] = True
    if not in_validation.any():
        raise DatasetError(
            f"cannot split {len(labels)} images: no letter has 2 or more near-duplicate groups"
        )
    val_mask = in_validation[groups]
    return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def random_split(labels: IntArray, *, fraction: float, seed: int) -> tuple[IntArray, IntArray]:
    """A letter-stratified random split (leaks near-duplicates: for comparison only)."""
    fraction = check_fraction(fraction)
    seed = check_seed(seed)
    if len(labels) < 2:
        raise DatasetError(f"cannot split {len(labels)} image(s) into train and validation")
    rng = np.random.default_rng(seed)
    val: list[IntArray] = []
    for letter in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == letter))
        val.append(members[: round(fraction * len(members))])
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    if len(val_idx) in (0, len(labels)):
        raise DatasetError(
            f"cannot split {len(labels)} images with fraction {fraction}: one side would be empty"
        )
    mask = np.zeros(len(labels), dtype=bool)
    mask[val_idx] = True
    return np.flatnonzero(~mask), val_idx
