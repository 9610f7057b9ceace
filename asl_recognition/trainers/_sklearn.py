"""The ``sklearn`` backend: scikit-learn pipelines on raw pixels, saved with skops.

Estimators: ``logistic`` (the seed's AutoML winner family, the default), ``svm`` (RBF SVM, by
default on PCA(60) of per-image-normalised pixels), ``random_forest``, ``knn``. Preprocessing
(:data:`PREPROCESSING`): ``scale`` (pixels / 255), ``per_image`` (subtract each image's mean,
divide by its standard deviation: removes the brightness/contrast differences between photos) or
``hog`` (histograms of oriented gradients, :class:`HogFeatures`: local edge directions, robust to
lighting and to small shifts; an RBF SVM on them scores 0.96 on the test file where the same SVM
on PCA of pixels scores 0.88).

Models are saved with :mod:`skops.io`; loading accepts only an explicit allow-list of types, so a
model file cannot run code it smuggles in (unlike pickle/joblib).

>>> from asl_recognition.trainers._sklearn import SklearnTrainer
>>> SklearnTrainer(estimator="svm").params["pca_components"]
60
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

from asl_recognition._io import atomic_write_bytes
from asl_recognition.data.arrays import IMAGE_SHAPE, NUM_PIXELS
from asl_recognition.errors import InvalidParameterError, ModelFormatError, TrainingError
from asl_recognition.model import ModelMetadata, TrainedModel
from asl_recognition.photo.pose_features import HandLandmarkFeatures
from asl_recognition.registry import import_string
from asl_recognition.trainers.base import TrainResult, validation_metrics

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from asl_recognition.data.dataset import Dataset

__all__ = [
    "PIXEL_PREPROCESSING",
    "PREPROCESSING",
    "HogFeatures",
    "PerImageNormalizer",
    "PixelScaler",
    "SklearnModel",
    "SklearnTrainer",
    "dump_skops",
    "load_skops",
    "make_preprocessor",
    "n_features",
]

log = logging.getLogger(__name__)

Estimator = Literal["logistic", "svm", "random_forest", "knn"]
Preprocessing = Literal["scale", "per_image", "hog", "landmarks"]
_ESTIMATORS: tuple[str, ...] = ("logistic", "svm", "random_forest", "knn")
# Per-estimator defaults: the measured good choices (see benchmarks/bench_sklearn.py).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "logistic": {"preprocessing": "scale", "pca_components": None},
    "svm": {"preprocessing": "per_image", "pca_components": 60},
    "random_forest": {"preprocessing": "scale", "pca_components": None},
    "knn": {"preprocessing": "per_image", "pca_components": 60},
}


class PixelScaler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Scale 0..255 pixels to 0..1 (stateless)."""

    def fit(self, X: Any, y: Any = None) -> PixelScaler:
        """No-op; returns self."""
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Return ``X / 255`` as float32."""
        return np.asarray(X, dtype=np.float32) / np.float32(255.0)


class PerImageNormalizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Standardise each image on its own: subtract its mean, divide by its standard deviation.

    Flat images (standard deviation 0) become all zeros instead of dividing by zero.
    """

    def fit(self, X: Any, y: Any = None) -> PerImageNormalizer:
        """No-op; returns self."""
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Per-row standardisation of a (N, 784) array."""
        x = np.asarray(X, dtype=np.float32)
        x = x - x.mean(axis=1, keepdims=True)
        std = x.std(axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = np.divide(x, std, out=np.zeros_like(x), where=std > 1e-6)
        return out


class HogFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Histogram-of-oriented-gradients descriptor of each 28x28 image (scikit-image's ``hog``).

    Each ``pixels_per_cell`` square cell gets a histogram of its gradient directions
    (``orientations`` bins, weighted by gradient magnitude); overlapping blocks of
    ``cells_per_block`` cells are contrast-normalised (L2-Hys). The result describes the hand's
    edges and their directions, independent of brightness and tolerant of small shifts; with the
    defaults it has 324 features (3x3 blocks x 2x2 cells x 9 bins).
    """

    def __init__(self, orientations: int = 9, pixels_per_cell: int = 7, cells_per_block: int = 2) -> None:
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block

    def fit(self, X: Any, y: Any = None) -> HogFeatures:
        """No-op (the descriptor has no learned state); returns self."""
        return self

    @property
    def n_features(self) -> int:
        """Length of one image's descriptor."""
        cells = IMAGE_SHAPE[0] // self.pixels_per_cell
        blocks = cells - self.cells_per_block + 1
        return blocks * blocks * self.cells_per_block**2 * self.orientations

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Descriptors of a (N, 784) array of 0..255 pixels, shape (N, :attr:`n_features`)."""
        hog = import_string("skimage.feature:hog", extra="images", what="HOG features")
        images = np.asarray(X, dtype=np.float32).reshape(-1, *IMAGE_SHAPE)
        out = np.empty((len(images), self.n_features), dtype=np.float32)
        for i, image in enumerate(images):
            out[i] = hog(
                image,
                orientations=self.orientations,
                pixels_per_cell=(self.pixels_per_cell, self.pixels_per_cell),
                cells_per_block=(self.cells_per_block, self.cells_per_block),
                block_norm="L2-Hys",
                feature_vector=True,
            )
        return out


_PREPROCESSORS: dict[str, type[TransformerMixin]] = {
    "scale": PixelScaler,
    "per_image": PerImageNormalizer,
    "hog": HogFeatures,
    "landmarks": HandLandmarkFeatures,
}
#: the preprocessing steps a pipeline may start with (see :func:`make_preprocessor`)
PREPROCESSING: tuple[str, ...] = tuple(_PREPROCESSORS)
#: the steps computed from the pixels alone, cheap enough for a search to try (``landmarks``
#: runs a neural network per image, ~15 ms here, and needs the hand models)
PIXEL_PREPROCESSING: tuple[str, ...] = ("scale", "per_image", "hog")


def make_preprocessor(name: str) -> TransformerMixin:
    """The first pipeline step for preprocessing ``name`` (one of :data:`PREPROCESSING`).

    Raises:
        InvalidParameterError: ``name`` is not one of :data:`PREPROCESSING`.
    """
    if name not in _PREPROCESSORS:
        raise InvalidParameterError(f"'preprocessing' must be one of {', '.join(PREPROCESSING)}, got {name!r}")
    return _PREPROCESSORS[name]()


def n_features(preprocessing: str) -> int:
    """Number of features ``preprocessing`` produces from one image (validates the name)."""
    return int(getattr(make_preprocessor(preprocessing), "n_features", NUM_PIXELS))


# Types a saved sklearn model may contain beyond what skops trusts by default.
_OWN_TYPES = frozenset(
    f"{__name__}.{cls}" for cls in ("PixelScaler", "PerImageNormalizer", "HogFeatures")
) | {f"{HandLandmarkFeatures.__module__}.{HandLandmarkFeatures.__name__}"}


def dump_skops(obj: Any, path: Path) -> None:
    """Serialise ``obj`` with skops to ``path`` atomically."""
    import skops.io as sio

    atomic_write_bytes(path, sio.dumps(obj))


def load_skops(path: Path, *, extra_trusted: frozenset[str] = frozenset()) -> Any:
    """Load a skops file, trusting only scikit-learn/numpy types and our own transformers.

    Raises:
        ModelFormatError: the file is not skops, or holds a type outside the allow-list.
    """
    import skops.io as sio

    data = path.read_bytes()
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises zipfile/JSON errors for foreign files
        raise ModelFormatError(f"{path}: not a skops model file ({exc})") from exc
    # scikit-learn's own classes (estimators and their Cython helpers such as KDTree) rebuild
    # from plain state; anything else must be on the explicit allow-list.
    refused = sorted(t for t in untrusted - _OWN_TYPES - extra_trusted if not t.startswith("sklearn."))
    if refused:
        raise ModelFormatError(f"{path}: refusing to load untrusted types {refused}")
    try:
        return sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelFormatError(f"{path}: could not load skops model ({exc})") from exc


class SklearnModel(TrainedModel):
    """A fitted scikit-learn pipeline taking (N, 784) raw pixels."""

    model_type = "sklearn"

    def __init__(self, *, pipeline: Pipeline, metadata: ModelMetadata) -> None:
        super().__init__(metadata=metadata)
        classes = tuple(int(c) for c in pipeline.classes_)
        if classes != metadata.labels:
            raise ModelFormatError(
                f"pipeline classes {classes} do not match metadata labels {metadata.labels}"
            )
        self.pipeline = pipeline

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        proba: npt.NDArray[np.float64] = self.pipeline.predict_proba(images.reshape(len(images), -1))
        return proba

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        dump_skops(self.pipeline, directory / "model.skops")
        return {"weights": "model.skops"}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> SklearnModel:
        name = metadata.files.get("weights")
        if name is None:
            raise ModelFormatError(f"{directory}: metadata lists no 'weights' file")
        return cls(pipeline=load_skops(directory / name), metadata=metadata)


class SklearnTrainer:
    """Train a scikit-learn classifier on raw pixels.

    Args:
        estimator: ``"logistic"`` (default), ``"svm"``, ``"random_forest"`` or ``"knn"``.
        preprocessing: ``"scale"``, ``"per_image"``, ``"hog"`` or ``"landmarks"`` (hand-pose
            features, :mod:`asl_recognition.photo.pose_features`); default depends on the estimator.
        pca_components: PCA dimensions before the estimator (None: no PCA); default depends on
            the estimator (60 for ``svm``).
        C: inverse regularisation strength (logistic, svm), > 0.
        gamma: RBF kernel width for ``svm``: ``"scale"``, ``"auto"`` or a positive float.
        max_iter: iteration limit for logistic regression.
        n_estimators: trees for ``random_forest``.
        n_neighbors: neighbours for ``knn``.
        n_jobs: parallel jobs where the estimator supports them.

    >>> SklearnTrainer(C=-1)
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: 'C' must be > 0, got -1
    """

    name = "sklearn"

    def __init__(
        self,
        *,
        estimator: Estimator = "logistic",
        preprocessing: Preprocessing | None = None,
        pca_components: int | Literal["default"] | None = "default",
        C: float = 1.0,
        gamma: str | float = "scale",
        max_iter: int = 1000,
        n_estimators: int = 300,
        n_neighbors: int = 5,
        n_jobs: int | None = None,
    ) -> None:
        if estimator not in _ESTIMATORS:
            raise InvalidParameterError(
                f"'estimator' must be one of {', '.join(_ESTIMATORS)}, got {estimator!r}"
            )
        defaults = _DEFAULTS[estimator]
        preprocessing = preprocessing if preprocessing is not None else defaults["preprocessing"]
        width = n_features(preprocessing)  # raises for an unknown preprocessing
        pca = defaults["pca_components"] if pca_components == "default" else pca_components
        if pca is not None and (isinstance(pca, bool) or not isinstance(pca, int) or not 1 <= pca <= width):
            raise InvalidParameterError(
                f"'pca_components' must be None or 1..{width} (the {preprocessing!r} features), got {pca!r}"
            )
        _positive("C", C)
        if isinstance(gamma, str):
            if gamma not in ("scale", "auto"):
                raise InvalidParameterError(f"'gamma' must be 'scale', 'auto' or > 0, got {gamma!r}")
        else:
            _positive("gamma", gamma)
        for name, value in (("max_iter", max_iter), ("n_estimators", n_estimators), ("n_neighbors", n_neighbors)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(f"{name!r} must be an integer >= 1, got {value!r}")
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0):
            raise InvalidParameterError(f"'n_jobs' must be None, -1 or >= 1, got {n_jobs!r}")
        self.params: dict[str, Any] = {
            "estimator": estimator,
            "preprocessing": preprocessing,
            "pca_components": pca,
            "C": float(C),
            "gamma": gamma,
            "max_iter": max_iter,
            "n_estimators": n_estimators,
            "n_neighbors": n_neighbors,
            "n_jobs": n_jobs,
        }

    def __repr__(self) -> str:
        return f"SklearnTrainer(estimator={self.params['estimator']!r})"

    def build_pipeline(self, seed: int) -> Pipeline:
        """The unfitted pipeline for these parameters."""
        from sklearn.decomposition import PCA
        from sklearn.pipeline import Pipeline

        p = self.params
        steps: list[tuple[str, Any]] = [("preprocess", make_preprocessor(p["preprocessing"]))]
        if p["pca_components"] is not None:
            steps.append(("pca", PCA(n_components=p["pca_components"], random_state=seed)))
        steps.append(("classifier", self._estimator(seed)))
        return Pipeline(steps)

    def _estimator(self, seed: int) -> Any:
        p = self.params
        kind = p["estimator"]
        if kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=seed)
        if kind == "svm":
            from sklearn.calibration import CalibratedClassifierCV
            from sklearn.svm import SVC

            # Platt-scaled probabilities (what SVC(probability=True) did, without its deprecation).
            svc = SVC(C=p["C"], gamma=p["gamma"], random_state=seed)
            return CalibratedClassifierCV(svc, ensemble=False, cv=3)
        if kind == "random_forest":
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(
                n_estimators=p["n_estimators"], n_jobs=p["n_jobs"], random_state=seed
            )
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=p["n_neighbors"], weights="distance", n_jobs=p["n_jobs"])

    def fit(self, train: Dataset, *, validation: Dataset | None = None, seed: int = 0) -> TrainResult:
        """Fit on ``train``; report ``validation_accuracy`` when ``validation`` is given."""
        if len(np.unique(train.labels)) < 2:
            raise TrainingError(f"training data {train.name!r} must contain at least two letters")
        pipeline = self.build_pipeline(seed)
        log.info("sklearn: fitting %s on %d images", self.params["estimator"], len(train))
        start = time.perf_counter()
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(train.images.reshape(len(train), -1).astype(np.float32), train.labels)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            log.warning("sklearn: %s did not converge within max_iter=%d; raise max_iter for a better model",
                        self.params["estimator"], self.params["max_iter"])
        fit_s = time.perf_counter() - start
        metadata = ModelMetadata.create(
            model_type=SklearnModel.model_type,
            backend=self.name,
            labels=tuple(int(c) for c in pipeline.classes_),
            preprocessing={"input": "raw pixels 0..255, (N, 784)", "steps": [s for s, _ in pipeline.steps]},
            hyperparameters=dict(self.params, seed=seed),
            data_fingerprint=train.fingerprint,
        )
        model = SklearnModel(pipeline=pipeline, metadata=metadata)
        metrics = validation_metrics(model, validation)
        model.metadata.metrics.update(metrics)
        return TrainResult(
            model=model,
            metrics=metrics,
            hyperparameters=dict(self.params, seed=seed),
            timings={"fit_s": fit_s},
            backend=self.name,
        )


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidParameterError(f"{name!r} must be > 0, got {value!r}")
