"""Compose every file in conf/ and run each trainer config on a small synthetic dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from asl_recognition import get_trainer
from asl_recognition.cli import conf_dir
from asl_recognition.errors import MissingDependencyError
from asl_recognition.testing import synthetic_dataset

CONF = conf_dir()
TRAINER_KEYS = sorted(p.stem for p in (CONF / "trainer").glob("*.yaml"))
TOP_LEVEL = sorted(p.stem for p in CONF.glob("*.yaml"))
GROUP_OPTIONS = sorted(
    (p.parent.name, p.stem) for p in CONF.glob("*/*.yaml") if p.parent.name != "trainer"
)

# Budget-like parameters are shrunk so every config trains in seconds on synthetic data.
_SHRINK: dict[str, Any] = {
    "epochs": 1, "max_epochs": 1, "max_iter": 50, "n_estimators": 10, "time_budget_s": 8,
    "time_budget": 8, "max_total_runs": 1, "max_concurrent_runs": 1, "pca_components": 10,
}


def _compose(config_name: str, overrides: list[str]) -> Any:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)


def test_conf_dir_is_the_repo_conf_in_development() -> None:
    assert (CONF / "config.yaml").is_file()


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_every_top_level_config_composes(name: str) -> None:
    overrides = ["model=/tmp/model"] if name in ("serve", "deploy") else []
    cfg = _compose(name, overrides)
    OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS)
def test_every_group_option_composes(group: str, option: str) -> None:
    base = "serve" if group == "deployer" else "config"
    overrides = [f"{group}={option}"] + (["model=/tmp/model"] if base == "serve" else [])
    try:
        cfg = _compose(base, overrides)
    except Exception:  # groups not in a top-level defaults list (sweep) are composed on their own,
        # as asl_recognition.config.load_config does, onto their registered schema
        schema = ConfigStore.instance().load(f"schema/{group}.yaml").node
        cfg = OmegaConf.merge(schema, _compose(f"{group}/{option}", [])[group])
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


@pytest.mark.parametrize("key", TRAINER_KEYS)
def test_every_trainer_config_trains_on_synthetic_data(key: str) -> None:
    cfg = _compose("config", [f"trainer=[{key}]"])
    container = OmegaConf.to_container(cfg.trainer, resolve=True)
    assert isinstance(container, dict) and list(container) == [key], (
        f"conf/trainer/{key}.yaml must hold exactly one top-level key named {key!r}"
    )
    spec = container[key]
    params: dict[str, Any] = dict(spec.get("params") or {})
    users = get_trainer(spec["name"], **params) if spec["name"] in ("product", "photo") else None
    if users is not None and getattr(users, "job_models", ()):
        # a trainer building on other trainers of the job (product members, the photo trainer's
        # pixel expert; trained by their own cases here, the job's combination is tested in
        # tests/unit/test_ensemble.py and the photo tests): they exist and compose before it
        members = list(users.job_models)
        assert set(members) <= set(TRAINER_KEYS)
        assert list(_compose("config", [f"trainer=[{','.join([*members, key])}]"]).trainer) == [*members, key]
        return
    for name, value in _SHRINK.items():
        if name in params and params[name] is not None:
            params[name] = value
    if isinstance(params.get("sweep"), str):
        # a named sweep: one one-epoch trial (tests/unit/test_sweep_run.py covers several trials)
        sweep = OmegaConf.to_container(OmegaConf.load(CONF / "sweep" / f"{params['sweep']}.yaml"))
        assert isinstance(sweep, dict)
        sweep["max_total_runs"] = 1
        if "--epochs" in sweep.get("parameter_space", {}):
            sweep["parameter_space"]["--epochs"] = "choice(1)"
        params["sweep"] = sweep
    try:
        trainer = get_trainer(spec["name"], **params)
    except MissingDependencyError as exc:  # pragma: no cover - CI installs every extra
        pytest.skip(str(exc))
    if params.get("compute") == "azure":
        return  # needs a workspace: covered offline by tests/azure
    train = synthetic_dataset(8, seed=0)
    validation = synthetic_dataset(3, seed=1)
    result = trainer.fit(train, validation=validation, seed=0)
    assert 0.0 <= result.metrics["validation_accuracy"] <= 1.0


def test_main_config_defaults_select_trainers() -> None:
    cfg = _compose("config", [])
    assert set(cfg.trainer) >= {"sklearn", "svm"}


def test_trainer_selection_override() -> None:
    cfg = _compose("config", ["trainer=[svm]", "trainer.svm.params.C=3"])
    assert list(cfg.trainer) == ["svm"]
    assert cfg.trainer.svm.params.C == 3


def test_conf_files_have_no_stray_keys() -> None:
    for path in (CONF / "trainer").glob("*.yaml"):
        data = OmegaConf.load(path)
        (key,) = (k for k in data if k != "defaults")  # the defaults list names the schema
        assert key == path.stem, f"{path.name}: top-level key {key!r} must equal the file name"
        assert set(data[key]) <= {"name", "params", "refit"}, f"{path.name}: only name, params, refit allowed"


def test_packaged_conf_matches_repo(tmp_path: Path) -> None:
    """The wheel ships conf/ as asl_recognition/conf (checked by tests/integration/test_wheel.py)."""
    import tomllib

    pyproject = tomllib.loads((CONF.parent / "pyproject.toml").read_text())
    force = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["conf"] == "asl_recognition/conf"
