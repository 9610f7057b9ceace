"""Sweep configs: the shipped ones load, HyperDrive settings map onto Optuna objects."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from asl_recognition.errors import ConfigurationError
from asl_recognition.trainers.cnn.metrics import PRIMARY_METRIC
from asl_recognition.trainers.cnn.sweep import SweepSpec, load_sweep_config

CONF = Path(__file__).resolve().parents[2] / "conf" / "sweep"


@pytest.mark.parametrize("path", sorted(CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_sweep_config_parses(path: Path) -> None:
    spec = SweepSpec.from_config(load_sweep_config(path))
    assert spec.primary_metric_name == PRIMARY_METRIC
    assert spec.max_total_runs >= 1


def test_seed_config_is_the_seed_study() -> None:
    spec = SweepSpec.from_config(load_sweep_config("seed"))
    assert spec.space.to_hyperdrive() == {
        "--hidden": ("choice", [50, 100, 200, 300]),
        "--batch_size": ("choice", [64, 128]),
        "--epochs": ("choice", [3, 5, 10]),
        "--dropout": ("choice", [0.5, 0.8, 1]),
    }
    assert (spec.max_total_runs, spec.max_concurrent_runs) == (50, 10)
    assert spec.primary_metric_goal == "maximize"
    assert spec.policy is not None and spec.policy.evaluation_interval == 1


def test_median_policy_maps_to_median_pruner() -> None:
    spec = SweepSpec.from_config({"parameter_space": {"--hidden": "choice(1, 2)"},
                                  "policy": {"type": "median", "evaluation_interval": 2,
                                             "delay_evaluation": 3}})
    assert spec.policy is not None
    pruner = spec.policy.pruner()
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert (pruner._n_warmup_steps, pruner._interval_steps) == (4, 2)  # epochs count from 1


def test_median_pruner_prunes_a_worse_than_median_trial() -> None:
    spec = SweepSpec.from_config({"parameter_space": {"--hidden": "choice(1, 2)"},
                                  "policy": {"type": "median", "delay_evaluation": 1}})
    assert spec.policy is not None
    study = optuna.create_study(direction="maximize", pruner=spec.policy.pruner())
    for values in ([0.5, 0.8, 0.9], [0.6, 0.85, 0.95]):
        t = study.ask()
        for step, v in enumerate(values, 1):
            t.report(v, step)
        study.tell(t, values[-1])
    bad = study.ask()
    bad.report(0.1, 1)
    assert not bad.should_prune()  # step 1 is within delay_evaluation
    bad.report(0.2, 2)
    assert bad.should_prune()


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({}, "'parameter_space' is required"),
        ({"parameter_space": {"--hidden": "choice(1)"}, "sampling": "grid"}, "only sampling 'random'"),
        ({"parameter_space": {"--hidden": "choice(1)"}, "max_total_runs": 0}, "max_total_runs"),
        ({"parameter_space": {"--hidden": "choice(1)"}, "policy": {"type": "bandit"}}, "policy.type"),
        ({"parameter_space": {"--hidden": "choice(1)"}, "primary_metric_goal": "up"}, "primary_metric_goal"),
        ({"parameter_space": {"--hidden": "choice(1)"}, "max_runs": 3}, "unknown key"),
    ],
)
def test_bad_sweep_configs_are_rejected(cfg: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SweepSpec.from_config(cfg)


def test_unknown_shipped_name_lists_the_available_ones() -> None:
    with pytest.raises(ConfigurationError, match="available: .*seed"):
        load_sweep_config("sead")
