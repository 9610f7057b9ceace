"""The local AutoML engine: FLAML searching scikit-learn pipelines on the leak-free split.

Every candidate is a scikit-learn :class:`~sklearn.pipeline.Pipeline` built from the feature
transformers of the sklearn model flavour (:mod:`asl_recognition.models.sklearn`: pixels scaled
to 0..1, per-image standardisation or HOG descriptors; optional PCA; one classifier), so the
winner saves with skops under the sklearn model type's allow-list: no pickle, no FLAML
needed to load it. FLAML searches the model family *and* the preprocessing (features, PCA size)
together, starting from HOG features (the classical image descriptor; the pixel features are
searched too); candidates are scored on the validation set passed explicitly (``X_val``/``y_val``),
never on a random holdout of the training rows (which leaks: the training file is augmented
near-duplicates).

Families (:data:`FAMILIES`): ``svc`` (RBF SVM), ``logistic``, ``knn``, ``extra_trees``,
``random_forest``.

>>> sorted(FAMILIES)
['extra_trees', 'knn', 'logistic', 'random_forest', 'svc']
>>> config = {"preprocessing": "per_image", "pca_components": 60, "C": 10.0}
>>> build_pipeline("svc", config).steps[1][0]
'pca'
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import MissingDependencyError, TrainingError
from asl_recognition.models.sklearn import PIXEL_PREPROCESSING, make_preprocessor, n_features
from asl_recognition.trainers.base import TrialRecord

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = ["FAMILIES", "LocalSearchResult", "build_pipeline", "search"]

log = logging.getLogger(__name__)

#: model families the local engine searches, in FLAML learner order
FAMILIES: tuple[str, ...] = ("svc", "logistic", "knn", "extra_trees", "random_forest")

# Hyperparameters shared by every family: the preprocessing is searched, not fixed.
# 0 = no PCA; a size above the features' width (HOG has 324) is capped to it.
_PCA_CHOICES = [0, 30, 45, 60, 90, 120]
_TREE_PCA_CHOICES = [0, 30, 60, 90]


def _classifier(family: str, config: Mapping[str, Any], *, probability: bool, seed: int, n_jobs: int) -> Any:
    if family == "svc":
        from sklearn.svm import SVC

        return SVC(C=float(config["C"]), gamma="scale", probability=probability, random_state=seed)
    if family == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=float(config["C"]), max_iter=int(config.get("max_iter", 100)), random_state=seed)
    if family == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=int(config["n_neighbors"]), weights="distance", n_jobs=n_jobs)
    if family in ("extra_trees", "random_forest"):
        from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

        cls = ExtraTreesClassifier if family == "extra_trees" else RandomForestClassifier
        return cls(
            n_estimators=int(config["n_estimators"]),
            max_features=float(config["max_features"]),
            n_jobs=n_jobs,
            random_state=seed,
        )
    raise TrainingError(f"unknown AutoML model family {family!r}; known: {', '.join(FAMILIES)}")


def build_pipeline(
    family: str,
    config: Mapping[str, Any],
    *,
    probability: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    max_components: int | None = None,
) -> Pipeline:
    """The unfitted pipeline for one candidate: preprocessing, optional PCA, classifier.

    Args:
        family: one of :data:`FAMILIES`.
        config: the candidate's hyperparameters (``preprocessing``, ``pca_components``, and
            the family's own).
        probability: fit SVC's probability calibration (slower; needed by the final model only).
        max_components: upper bound on the PCA size (the number of samples, for subsamples).
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline

    prep = str(config.get("preprocessing", "hog"))
    steps: list[tuple[str, Any]] = [("preprocess", make_preprocessor(prep))]
    pca = min(int(config.get("pca_components", 0) or 0), n_features(prep))
    if max_components is not None:
        pca = min(pca, max_components)
    if pca > 0:
        steps.append(("pca", PCA(n_components=pca, random_state=seed)))
    steps.append(
        (
            "classifier",
            _classifier(family, config, probability=probability, seed=seed, n_jobs=n_jobs),
        )
    )
    return Pipeline(steps)


def _space(family: str) -> dict[str, Any]:
    tune: Any = importlib.import_module("flaml.tune")

    trees = family in ("extra_trees", "random_forest")
    common: dict[str, Any] = {
        "preprocessing": {"domain": tune.choice(list(PIXEL_PREPROCESSING)), "init_value": "hog"},
        "pca_components": {
            "domain": tune.choice(_TREE_PCA_CHOICES if trees else _PCA_CHOICES),
            "init_value": 0,
        },
    }
    own: dict[str, dict[str, Any]] = {
        "svc": {"C": {"domain": tune.loguniform(0.3, 300.0), "init_value": 10.0}},
        "logistic": {"C": {"domain": tune.loguniform(0.01, 100.0), "init_value": 1.0}},
        "knn": {"n_neighbors": {"domain": tune.randint(1, 16), "init_value": 5}},
        "extra_trees": {
            "n_estimators": {
                "domain": tune.lograndint(20, 200),
                "init_value": 50,
                "low_cost_init_value": 20,
            },
            "max_features": {"domain": tune.loguniform(0.05, 1.0), "init_value": 0.2},
        },
        "random_forest": {
            "n_estimators": {
                "domain": tune.lograndint(20, 200),
                "init_value": 50,
                "low_cost_init_value": 20,
            },
            "max_features": {"domain": tune.loguniform(0.05, 1.0), "init_value": 0.2},
        },
    }
    return {**common, **own[family]}


# Rough training cost relative to LightGBM, which FLAML uses to order the first trials.
_COST = {"svc": 0.5, "logistic": 1.0, "knn": 0.3, "extra_trees": 1.5, "random_forest": 2.0}


def _learner_classes() -> dict[str, type]:
    """FLAML learner classes, one per family (defined lazily: FLAML is an optional extra)."""
    try:
        from flaml.automl.model import SKLearnEstimator
    except ImportError as exc:
        raise MissingDependencyError(
            'the local AutoML engine needs FLAML: pip install "asl-recognition[automl]"'
        ) from exc

    classes: dict[str, type] = {}
    for family in FAMILIES:

        def init(
            self: Any,
            task: Any = "multiclass",
            n_jobs: int = 1,
            _family: str = family,
            **config: Any,
        ) -> None:
            base_init: Any = SKLearnEstimator.__init__
            base_init(self, task, **config)
            seed = int(config.get("random_seed", 0))
            # FLAML builds a learner from an empty config when no trial of a family finished
            # within the budget; fall back to the search space's initial values, as its own
            # learners fall back to their defaults.
            defaults = {k: v["init_value"] for k, v in _space(_family).items() if "init_value" in v}
            self.params = {**defaults, **config}

            self._max_components = None

            def make(**params: Any) -> Pipeline:
                params.pop("random_seed", None)
                return build_pipeline(
                    _family,
                    params,
                    probability=False,
                    seed=seed,
                    n_jobs=n_jobs,
                    max_components=self._max_components,
                )

            self.estimator_class = make

        def fit_sample(self: Any, X_train: Any, y_train: Any, **kwargs: Any) -> Any:
            # early candidates see small subsamples: PCA may not exceed min(samples, features)
            self._max_components = int(min(np.shape(X_train)))
            base_fit: Any = SKLearnEstimator._fit
            return base_fit(self, X_train, y_train, **kwargs)

        classes[family] = type(
            f"_{family.title().replace('_', '')}Learner",
            (SKLearnEstimator,),
            {
                "__init__": init,
                "_fit": fit_sample,
                "search_space": classmethod(lambda cls, data_size=None, task=None, _f=family, **kw: _space(_f)),
                "cost_relative2lgbm": classmethod(lambda cls, _f=family: _COST[_f]),
            },
        )
    return classes


@dataclasses.dataclass
class LocalSearchResult:
    """What :func:`search` found."""

    pipeline: Pipeline
    family: str
    config: dict[str, Any]
    validation_accuracy: float
    trials: list[TrialRecord]
    search_s: float
    refit_s: float


def _flat(images: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    return np.asarray(images, dtype=np.float32).reshape(len(images), -1)


def _read_trials(log_path: Path) -> list[TrialRecord]:
    from flaml.automl.training_log import training_log_reader

    trials: list[TrialRecord] = []
    if not log_path.exists():
        return trials
    with training_log_reader(str(log_path)) as reader:
        for number, rec in enumerate(reader.records()):
            loss = rec.validation_loss
            finite = loss is not None and np.isfinite(loss)
            trials.append(
                TrialRecord(
                    number=number,
                    params={
                        "learner": rec.learner,
                        "sample_size": rec.sample_size,
                        **dict(rec.config),
                    },
                    value=float(1.0 - loss) if finite else None,
                    state="complete" if finite else "failed",
                    duration_s=float(rec.trial_time),
                )
            )
    return trials


def search(
    train_images: npt.NDArray[Any],
    train_labels: npt.NDArray[Any],
    val_images: npt.NDArray[Any],
    val_labels: npt.NDArray[Any],
    *,
    time_budget_s: float,
    families: Sequence[str] = FAMILIES,
    max_iterations: int | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    refit_full: bool = False,
    min_sample_size: int = 2000,
) -> LocalSearchResult:
    """Search ``families`` with FLAML for ``time_budget_s`` seconds and refit the winner.

    Candidates are scored by accuracy on the given validation images (early candidates on
    subsamples of ``min_sample_size`` training images, growing as FLAML learns their cost).
    The winner is refit with probability outputs on the training images, or on training plus
    validation images with ``refit_full=True``; ``validation_accuracy`` is then the selected
    configuration's search-time score (trained on the training images only), since the
    refit model has seen the validation images.
    """
    flaml: Any = importlib.import_module("flaml")

    unknown = sorted(set(families) - set(FAMILIES))
    if unknown or not families:
        raise TrainingError(f"unknown AutoML model families {unknown}; known: {', '.join(FAMILIES)}")
    learners = _learner_classes()
    automl = flaml.AutoML()
    for family in families:
        automl.add_learner(family, learners[family])
    x_train, x_val = _flat(train_images), _flat(val_images)
    y_train, y_val = (
        np.asarray(train_labels, dtype=np.int64),
        np.asarray(val_labels, dtype=np.int64),
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="asl-automl-") as tmp:
        log_path = Path(tmp) / "flaml.log"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                automl.fit(
                    X_train=x_train,
                    y_train=y_train,
                    X_val=x_val,
                    y_val=y_val,
                    task="classification",
                    metric="accuracy",
                    estimator_list=list(families),
                    time_budget=float(time_budget_s),
                    max_iter=max_iterations,
                    eval_method="holdout",
                    retrain_full=False,
                    sample=True,
                    min_sample_size=min(int(min_sample_size), len(x_train)),
                    seed=seed,
                    n_jobs=n_jobs,
                    log_file_name=str(log_path),
                    log_type="all",
                    verbose=int(log.isEnabledFor(logging.DEBUG)) * 3,
                )
            except Exception as exc:  # FLAML raises bare exceptions for failed searches
                raise TrainingError(f"local AutoML search failed: {exc}") from exc
        trials = _read_trials(log_path)
    search_s = time.perf_counter() - start
    if automl.best_estimator is None:
        raise TrainingError(f"local AutoML finished no candidate within {time_budget_s:g} s; raise time_budget_s")
    family = str(automl.best_estimator)
    config = {
        k: (v.item() if isinstance(v, np.generic) else v)
        for k, v in dict(automl.best_config).items()
        if k != "random_seed"
    }
    log.info("automl: best %s %s (validation accuracy %.4f)", family, config, 1 - automl.best_loss)
    start = time.perf_counter()
    pipeline = build_pipeline(family, config, probability=True, seed=seed, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if refit_full:
            pipeline.fit(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]))
        else:
            pipeline.fit(x_train, y_train)
    refit_s = time.perf_counter() - start
    # refit on train+validation: report the configuration's search-time validation score
    accuracy = float(1.0 - automl.best_loss) if refit_full else float((pipeline.predict(x_val) == y_val).mean())
    return LocalSearchResult(
        pipeline=pipeline,
        family=family,
        config=config,
        validation_accuracy=accuracy,
        trials=trials,
        search_s=search_s,
        refit_s=refit_s,
    )
