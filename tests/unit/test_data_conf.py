"""conf/data/default.yaml stays in step with the code it configures (its schema is derived from it)."""

from __future__ import annotations

import inspect
from pathlib import Path

from omegaconf import OmegaConf

from asl_recognition.cli import conf_dir
from asl_recognition.config import compose, to_plain
from asl_recognition.data import DEFAULT_URLS, Dataset, load_dataset

CONF = Path(__file__).resolve().parents[2] / "conf" / "data" / "default.yaml"


def test_composed_keys_are_parameters_and_defaults_agree() -> None:
    conf_dir()  # registers the schemas
    data = to_plain(compose("config", ["trainer=[sklearn]"]))["data"]
    validation = data.pop("validation")
    urls = data.pop("urls")
    data.pop("photos_train")  # the photo trainer's folder (conf/trainer/photo.yaml), not a load option
    load_params = inspect.signature(load_dataset).parameters
    split_params = inspect.signature(Dataset.split_validation).parameters
    assert set(data) == set(load_params) - {"split", "urls"}
    assert set(validation) == set(split_params) - {"self"}
    for key, value in data.items():
        assert load_params[key].default == value, key
    for key, value in validation.items():
        assert split_params[key].default == value, key
    assert {k: tuple(v) for k, v in urls.items()} == {k: tuple(v) for k, v in DEFAULT_URLS.items()}


def test_the_yaml_holds_only_what_differs_from_the_defaults() -> None:
    raw = OmegaConf.to_container(OmegaConf.load(CONF))
    # urls: None in load_dataset's signature; photos_train: $ASL_PHOTOS_TRAIN when set
    assert isinstance(raw, dict) and set(raw) == {"urls", "photos_train"}
    assert raw["photos_train"] == "${oc.env:ASL_PHOTOS_TRAIN,null}"
