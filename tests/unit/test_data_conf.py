"""conf/data/default.yaml stays in step with the code it configures."""

from __future__ import annotations

import inspect
from pathlib import Path

from omegaconf import OmegaConf

from asl_recognition.data import DEFAULT_N_COMPONENTS, DEFAULT_THRESHOLD, DEFAULT_URLS, Dataset, load_dataset

CONF = Path(__file__).resolve().parents[2] / "conf" / "data" / "default.yaml"


def test_keys_are_parameters_and_defaults_agree() -> None:
    conf = OmegaConf.to_container(OmegaConf.load(CONF))
    assert isinstance(conf, dict)
    validation = conf.pop("validation")
    urls = conf.pop("urls")
    load_params = inspect.signature(load_dataset).parameters
    split_params = inspect.signature(Dataset.split_validation).parameters
    assert set(conf) | {"urls"} <= set(load_params)
    assert set(validation) <= set(split_params)
    for key, value in conf.items():
        assert load_params[str(key)].default == value, key
    assert {k: tuple(v) for k, v in urls.items()} == {k: tuple(v) for k, v in DEFAULT_URLS.items()}
    assert validation["threshold"] == DEFAULT_THRESHOLD
    assert validation["n_components"] == DEFAULT_N_COMPONENTS
    assert validation["fraction"] == split_params["fraction"].default
    assert validation["seed"] == split_params["seed"].default
    assert validation["method"] == split_params["method"].default
