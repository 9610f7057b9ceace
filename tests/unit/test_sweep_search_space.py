"""HyperDrive-style search spaces -> plain data, Optuna distributions and samples."""

from __future__ import annotations

import math

import optuna
import pytest

from asl_recognition.errors import ConfigurationError
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.search_space import ParameterExpression, SearchSpace

SEED_SPACE = {
    "--hidden": "choice(50, 100, 200, 300)",
    "--batch_size": "choice([64, 128])",
    "--epochs": {"choice": [3, 5, 10]},
    "--dropout": "choice(0.5, 0.8, 1)",
}


def test_seed_space_round_trips_to_hyperdrive_data() -> None:
    space = SearchSpace.parse(SEED_SPACE, allowed=TrainConfig.fields())
    assert space.to_hyperdrive() == {
        "--hidden": ("choice", [50, 100, 200, 300]),
        "--batch_size": ("choice", [64, 128]),
        "--epochs": ("choice", [3, 5, 10]),
        "--dropout": ("choice", [0.5, 0.8, 1]),
    }


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("uniform(0.1, 0.5)", lambda d: (d.low, d.high, d.log) == (0.1, 0.5, False)),
        ("loguniform(-9, -4)", lambda d: math.isclose(d.low, math.exp(-9)) and d.log),
        ("quniform(32, 256, 32)", lambda d: (d.low, d.high, d.step) == (32, 256, 32)),
        ("quniform(0.05, 0.5, 0.1)", lambda d: d.step == 0.1 and d.low >= 0.05 and d.high <= 0.5),
        ("randint(3)", lambda d: (d.low, d.high) == (0, 2)),
    ],
)
def test_ranges_map_to_optuna_with_hyperdrive_semantics(text: str, check: object) -> None:
    dist = ParameterExpression.parse(text).optuna_distribution()
    assert check(dist)  # type: ignore[operator]


def test_samples_stay_inside_the_space() -> None:
    space = SearchSpace.parse({"--learning_rate": "loguniform(-7, -5)", "--hidden": "randint(4)",
                               "--dropout": "choice(0.5, 1)"})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(20):
        trial = study.ask()
        params = space.suggest(trial)
        study.tell(trial, 0.0)
        seen.append(params)
    assert all(math.exp(-7) <= p["learning_rate"] <= math.exp(-5) for p in seen)
    assert {p["hidden"] for p in seen} <= {0, 1, 2, 3}
    assert {p["dropout"] for p in seen} == {0.5, 1}


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"--hidden": "choice()"}, "one or more"),
        ({"--hidden": "normal(0, 1)"}, "unknown expression 'normal'"),
        ({"--dropout": "uniform(0.5, 0.1)"}, "low < high"),
        ({"--hidden": "choice(50"}, "not of the form"),
        ({"--hidden": "choice(os.system('x'))"}, "cannot parse"),
        ({"--colour": "choice(1, 2)"}, "'--colour' is not a training argument"),
        ({"--hidden": {"choice": [1], "uniform": [1, 2]}}, "one key"),
        ({}, "non-empty"),
    ],
)
def test_bad_spaces_name_the_problem(space: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SearchSpace.parse(space, allowed=TrainConfig.fields())
