"""TrainConfig validation and the training script's command line."""

from __future__ import annotations

import pytest

from asl_recognition.errors import InvalidParameterError
from asl_recognition.trainers.cnn.config import TrainConfig
from asl_recognition.trainers.cnn.train import build_parser


def test_config_survives_the_command_line() -> None:
    config = TrainConfig(arch="seed", epochs=3, dropout=1, augment=False, backend="torch",
                         threads=2, learning_rate=0.01)
    args = build_parser().parse_args(["--data", "x", *config.to_args()])
    assert TrainConfig(**{f: getattr(args, f) for f in TrainConfig.fields()}) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arch": "resnet"}, "'arch' must be one of seed, small"),
        ({"dropout": 1.5}, r"'dropout' must be in \[0, 1\], got 1.5"),
        ({"batch_size": 2.5}, "'batch_size' must be an integer"),
        ({"learning_rate": 0}, "'learning_rate' must be > 0"),
        ({"backend": "jax"}, "'backend' must be one of tensorflow, torch"),
        ({"label_smoothing": 1.0}, r"'label_smoothing' must be in \[0, 1\), got 1.0"),
        ({"colour": "red"}, "unknown CNN hyperparameter"),
    ],
)
def test_bad_hyperparameters_are_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        TrainConfig().replace(**changes)


def test_trainer_validates_in_the_constructor() -> None:
    from asl_recognition import get_trainer

    with pytest.raises(InvalidParameterError, match="'epochs' must be an integer >= 1"):
        get_trainer("cnn", epochs=0)
    with pytest.raises(InvalidParameterError, match="'seed' is an argument of fit"):
        get_trainer("cnn", seed=3)
