"""Typed configs: schemas in Hydra's ConfigStore, errors at composition, the one loader."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from asl_recognition import config
from asl_recognition.cli import conf_dir, main
from asl_recognition.errors import ConfigurationError, InvalidParameterError
from asl_recognition.job import run_job
from asl_recognition.registry import Registry
from asl_recognition.trainers.base import trainers
from asl_recognition.trainers.cnn.config import TrainConfig

CONF = conf_dir()  # registers the schemas


def _run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # Hydra exits 1 on a composition error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_overrides_are_typed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_cli(capsys, "--cfg", "job", "trainer=[svm]", "trainer.svm.params.C=3", "seed=1")
    assert code == 0
    cfg = OmegaConf.create(out)
    assert cfg.seed == 1 and cfg.trainer.svm.params.C == 3.0 and cfg.trainer.svm.name == "sklearn"
    assert cfg.trainer.svm.refit is True and cfg.azure.compute.idle_seconds_before_scaledown == 1800


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("trainer.svm.params.Cc=3", "trainer.svm.params.Cc"),        # wrong key
        ("trainer.svm.params.C=abc", "trainer.svm.params.C"),        # wrong type
        ("trainer.svm.refit=maybe", "trainer.svm.refit"),
        ("seed=abc", "seed"),
        ("data.validation.fraction=x", "data.validation.fraction"),
        ("azure.compute.max_nodes=many", "azure.compute.max_nodes"),
        ("compare.bootstrap=3", "compare.bootstrap"),
    ],
)
def test_a_wrong_key_or_type_fails_at_composition_naming_the_key(
    capsys: pytest.CaptureFixture[str], override: str, key: str
) -> None:
    code, _, err = _run_cli(capsys, "--cfg", "job", "trainer=[svm]", override)
    assert code == 1
    assert f"full_key: {key}" in err


def test_deployer_params_are_typed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_cli(capsys, "serve", "--cfg", "job", "model=/tmp/m", "deployer.params.port=5001")
    assert code == 0 and OmegaConf.create(out).deployer.params.port == 5001
    code, _, err = _run_cli(capsys, "serve", "--cfg", "job", "model=/tmp/m", "deployer.params.prot=5001")
    assert code == 1 and "full_key: deployer.params.prot" in err
    code, out, _ = _run_cli(capsys, "deploy", "--cfg", "job", "model=/tmp/m", "deployer=aci")
    assert code == 0 and OmegaConf.create(out).deployer.params.service_name == "asl-recognition"


def test_serve_protocol_oip_selects_the_oip_deployer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_cli(capsys, "serve", "--protocol", "oip", "--cfg", "job", "model=/tmp/m",
                            "deployer.params.threads=3")  # fmt: skip
    cfg = OmegaConf.create(out).deployer
    assert code == 0 and cfg.name == "oip" and cfg.params.threads == 3 and cfg.params.host == "127.0.0.1"
    code, out, _ = _run_cli(capsys, "serve", "--protocol=score", "--cfg", "job", "model=/tmp/m")
    assert code == 0 and OmegaConf.create(out).deployer.name == "local"
    code, _, err = _run_cli(capsys, "serve", "--protocol", "grpc", "model=/tmp/m")
    assert code == 2 and "--protocol must be one of score, oip, got 'grpc'" in err


def test_a_wrong_key_in_a_yaml_file_names_the_key(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "trainer" / "typo.yaml").write_text(
        "defaults:\n  - /schema/trainer/sklearn@typo\n  - _self_\ntypo:\n  params:\n    estimater: svm\n"
    )
    with pytest.raises(ConfigCompositionException) as info:
        config.compose("config", ["trainer=[typo]"], config_dir=conf)
    assert "trainer.typo.params.estimater" in f"{info.value} {info.value.__cause__}"


def test_yaml_files_hold_only_what_differs_from_the_schema() -> None:
    """conf/trainer/cnn.yaml is all defaults; cnn_fast differs in two."""
    cfg = config.compose("config", ["trainer=[cnn,cnn_fast]"])
    cnn, fast = (OmegaConf.to_container(cfg.trainer[k].params) for k in ("cnn", "cnn_fast"))
    assert isinstance(cnn, dict) and isinstance(fast, dict)
    defaults = TrainConfig().to_dict()
    assert {k: cnn[k] for k in defaults if k != "seed"} == {k: v for k, v in defaults.items() if k != "seed"}
    assert {k for k in cnn if cnn[k] != fast[k]} == {"epochs", "learning_rate"}
    assert "seed" not in cnn  # an argument of fit(), set by the job
    for path in (CONF / "trainer").glob("*.yaml"):
        text = path.read_text()
        assert "/schema/trainer/" in text, f"{path.name} names no schema"


def test_params_schema_follows_the_signature() -> None:
    schema = config.params_schema(trainers.get("hyperdrive"))
    fields = {f.name: f for f in dataclasses.fields(schema)}
    assert "gateway" not in fields  # an object, not config data
    assert "seed" not in fields  # fit()'s
    assert fields["arch"].default == "small" and fields["compute"].default == "local"
    assert set(TrainConfig.fields()) - {"seed"} <= set(fields)


def test_loader_reads_names_paths_and_mappings(tmp_path: Path) -> None:
    from asl_recognition.trainers.cnn.sweep import SweepConfig, load_sweep_config

    seed = load_sweep_config("seed")
    assert seed["max_total_runs"] == 50 and seed["primary_metric_goal"] == "maximize"  # a default
    assert load_sweep_config(CONF / "sweep" / "seed.yaml") == seed
    own = tmp_path / "mine.yaml"
    own.write_text("parameter_space: {--hidden: 'choice(1, 2)'}\nmax_total_runs: ${oc.decode:'3'}\n")
    assert load_sweep_config(own)["max_total_runs"] == 3
    own.write_text("parameter_space: {}\nmax_total_runs: x\n")
    with pytest.raises(ConfigurationError, match=r"mine\.yaml\.max_total_runs: Value 'x'"):
        load_sweep_config(own)
    with pytest.raises(ConfigurationError, match=r"sweep\.policy: unknown key 'delay'"):
        config.load_config("sweep", {"parameter_space": {}, "policy": {"delay": 1}}, schema=SweepConfig)
    with pytest.raises(ConfigurationError, match="no such file"):
        load_sweep_config(tmp_path / "absent.yaml")


def test_loader_works_inside_a_running_hydra_app() -> None:
    from hydra import compose, initialize_config_dir

    from asl_recognition.azure.settings import load_settings
    from asl_recognition.trainers.cnn.sweep import load_sweep_config

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        assert load_sweep_config("small")["study_name"] == "small"
        assert load_settings("default", environ={}).compute.max_nodes == 4
        assert list(compose(config_name="config", overrides=["trainer=[svm]"]).trainer) == ["svm"]


def test_job_gives_the_azure_section_to_trainers_with_azure_null() -> None:
    from asl_recognition.job import with_shared_azure

    cfg = {"azure": {"compute": {"max_nodes": 10}}}
    assert with_shared_azure({"azure": None, "x": 1}, cfg) == {"azure": {"compute": {"max_nodes": 10}}, "x": 1}
    assert with_shared_azure({"azure": "mine.yaml"}, cfg) == {"azure": "mine.yaml"}
    assert with_shared_azure({"x": 1}, cfg) == {"x": 1}


def test_registry_create_names_unknown_and_missing_parameters() -> None:
    reg: Registry[type] = Registry("widget", entry_point_group="asl_recognition.test-none")

    @reg.register("w")
    class Widget:
        def __init__(self, *, size: int, colour: str = "red") -> None:
            self.size, self.colour = size, colour

    assert reg.create("w", size=2).size == 2
    with pytest.raises(InvalidParameterError, match=r"widget 'w' needs parameter 'size'; accepted: size, colour"):
        reg.create("w")
    with pytest.raises(InvalidParameterError, match=r"widget 'w' has no parameter 'shape'; accepted: size, colour"):
        reg.create("w", size=1, shape="round")


def test_product_members_are_checked_before_anything_trains(tmp_path: Path) -> None:
    cfg = {"trainer": {"both": {"name": "product", "params": {"members": ["lr", "rf"]}},
                       "lr": {"name": "sklearn", "params": {"C": -1}}}}
    with pytest.raises(InvalidParameterError, match="'C' must be > 0"):  # before loading any data
        run_job(cfg, output_dir=tmp_path)


def test_compare_command_takes_models_as_in_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_cli(capsys, "compare", "--cfg", "job", "models.a=/tmp/a", "models.b=/tmp/b", "report_dir=r")
    assert code == 0
    cfg = OmegaConf.create(out)
    assert dict(cfg.models) == {"a": "/tmp/a", "b": "/tmp/b"} and cfg.report_dir == "r"
