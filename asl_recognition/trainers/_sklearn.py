"""The ``sklearn`` backend: scikit-learn pipelines on raw pixels.

Estimators: ``logistic`` (the seed's AutoML winner family, the default), ``svm`` (RBF SVM, by
default on PCA(60) of per-image-normalised pixels), ``random_forest``, ``knn``. Preprocessing is
one of the feature transformers of the ``sklearn`` model flavour
(:data:`asl_recognition.models.sklearn.PREPROCESSING`: ``scale``, ``per_image``, ``hog``,
``landmarks``); the fitted pipeline becomes a :class:`~asl_recognition.models.sklearn.SklearnModel`.

>>> from asl_recognition.trainers._sklearn import SklearnTrainer
>>> SklearnTrainer(estimator="svm").params["pca_components"]
60
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from asl_recognition._validation import Interval, Options, StrOptions, check_param
from asl_recognition.errors import TrainingError
from asl_recognition.models.base import ModelMetadata
from asl_recognition.models.sklearn import SklearnModel, make_preprocessor, n_features
from asl_recognition.trainers.base import TrainResult, validation_metrics

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from asl_recognition.data.dataset import Dataset

__all__ = ["SklearnTrainer"]

log = logging.getLogger(__name__)

Estimator = Literal["logistic", "svm", "random_forest", "knn"]
Preprocessing = Literal["scale", "per_image", "hog", "landmarks"]
_ESTIMATORS: tuple[str, ...] = ("logistic", "svm", "random_forest", "knn")
_POSITIVE = Interval(float, 0, None, closed="neither")
# Per-estimator defaults: the measured good choices (see benchmarks/bench_sklearn.py).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "logistic": {"preprocessing": "scale", "pca_components": None},
    "svm": {"preprocessing": "per_image", "pca_components": 60},
    "random_forest": {"preprocessing": "scale", "pca_components": None},
    "knn": {"preprocessing": "per_image", "pca_components": 60},
}


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
        check_param("estimator", estimator, StrOptions(_ESTIMATORS))
        defaults = _DEFAULTS[estimator]
        preprocessing = preprocessing if preprocessing is not None else defaults["preprocessing"]
        width = n_features(preprocessing)  # raises for an unknown preprocessing
        pca = defaults["pca_components"] if pca_components == "default" else pca_components
        check_param("pca_components", pca, None, Interval(int, 1, width), hint=f"(the {preprocessing!r} features)")
        check_param("C", C, _POSITIVE)
        check_param("gamma", gamma, StrOptions(["scale", "auto"]), _POSITIVE)
        for name, value in (("max_iter", max_iter), ("n_estimators", n_estimators), ("n_neighbors", n_neighbors)):
            check_param(name, value, Interval(int, 1, None))
        check_param("n_jobs", n_jobs, None, Options([-1]), Interval(int, 1, None))
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
