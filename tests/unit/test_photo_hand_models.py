"""Finding, installing and checking the hand detector's model files (no network)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from asl_recognition.cli import main
from asl_recognition.errors import ConfigurationError
from asl_recognition.photo import hand_models
from asl_recognition.photo.hand_models import ENV_VAR, MODEL_FILES, hand_model_dir, install_hand_models


def _installed() -> dict[str, Path]:
    """The real model files (installed by .ci/setup); the tests below need their bytes."""
    found = hand_model_dir()
    if found is None:
        pytest.fail("hand models not installed: run 'asl-recognition install-hand-models'")
    return found


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "")
        for name, data in files.items():
            archive.writestr(f"mediapipe/{MODEL_FILES[name][0]}", data)
    return path


def test_install_from_a_wheel_verifies_and_writes_the_files(tmp_path: Path) -> None:
    real = {name: p.read_bytes() for name, p in _installed().items()}
    dest = install_hand_models(tmp_path / "models", wheel=_wheel(tmp_path / "mp.whl", real))
    for name, (_, digest) in MODEL_FILES.items():
        assert hashlib.sha256((dest / name).read_bytes()).hexdigest() == digest
    assert "Apache License 2.0" in (dest / "NOTICE.txt").read_text()
    assert not list(dest.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_a_wheel_with_other_files_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    fake = {name: b"not the model" for name in MODEL_FILES}
    with pytest.raises(ConfigurationError, match="not the expected"):
        install_hand_models(tmp_path / "models", wheel=_wheel(tmp_path / "mp.whl", fake))
    assert not (tmp_path / "models").exists()
    (tmp_path / "empty.whl").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    with pytest.raises(ConfigurationError, match="not a mediapipe 0.10 wheel"):
        install_hand_models(tmp_path / "models", wheel=tmp_path / "empty.whl")


def test_environment_variable_off_folder_and_tampering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = _installed()
    monkeypatch.setenv(ENV_VAR, "off")
    assert hand_model_dir() is None
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(ConfigurationError, match=ENV_VAR):
        hand_model_dir()  # a folder without the files
    for name, path in real.items():
        (tmp_path / name).write_bytes(path.read_bytes())
    assert hand_model_dir() == {name: tmp_path / name for name in MODEL_FILES}
    (tmp_path / hand_models.PALM_MODEL).write_bytes(b"tampered")
    with pytest.raises(ConfigurationError, match="SHA-256"):
        hand_model_dir()


def test_user_cache_is_used_without_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asl_recognition._paths import CACHE_ENV

    real = _installed()
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv(CACHE_ENV, raising=False)  # the user cache, not one named by $ASL_CACHE_DIR
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(hand_models, "_mediapipe_modules", lambda: None)
    assert hand_model_dir() is None
    cache = tmp_path / "asl_recognition" / "hand_models"
    for name, path in real.items():
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        (cache / name).write_bytes(path.read_bytes())
    assert hand_model_dir() == {name: cache / name for name in MODEL_FILES}


def test_cli_install_reports_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.whl").write_text("not a zip")
    assert main(["install-hand-models", "--dest", str(tmp_path / "m"), "--wheel", str(tmp_path / "bad.whl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.whl" in err and "Traceback" not in err


def test_models_bundled_with_a_model_directory_are_used_by_a_service(tmp_path: Path) -> None:
    from asl_recognition.photo.hand_models import BUNDLED_DIR, bundle_hand_models, use_bundled_hand_models

    _installed()
    assert bundle_hand_models(tmp_path)
    env: dict[str, str] = {}
    assert use_bundled_hand_models(tmp_path, env) and env[ENV_VAR] == str(tmp_path / BUNDLED_DIR)
    assert not use_bundled_hand_models(tmp_path, {ENV_VAR: "/elsewhere"})  # an explicit setting wins
    assert not use_bundled_hand_models(tmp_path / "nothing", {})


def test_cache_directory_of_the_data_is_where_models_are_installed_and_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$ASL_CACHE_DIR moves the hand models as it moves the dataset cache (one function)."""
    from asl_recognition.data import default_cache_dir

    real = {name: p.read_bytes() for name, p in _installed().items()}
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(hand_models, "_mediapipe_modules", lambda: None)
    assert hand_models.default_model_dir() == default_cache_dir() / "hand_models" == tmp_path / "cache" / "hand_models"
    assert hand_model_dir() is None
    dest = install_hand_models(wheel=_wheel(tmp_path / "mp.whl", real))
    assert dest == tmp_path / "cache" / "hand_models"
    assert hand_model_dir() == {name: dest / name for name in MODEL_FILES}


def test_models_installed_in_the_user_cache_are_found_when_the_cache_dir_is_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install made before $ASL_CACHE_DIR counted (in the per-user cache) keeps working."""
    real = _installed()
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(hand_models, "_mediapipe_modules", lambda: None)
    legacy = tmp_path / "xdg" / "asl_recognition" / "hand_models"
    legacy.mkdir(parents=True)
    for name, path in real.items():
        (legacy / name).write_bytes(path.read_bytes())
    assert hand_model_dir() == {name: legacy / name for name in MODEL_FILES}
    (tmp_path / "cache" / "hand_models").mkdir(parents=True)
    for name, path in real.items():  # a copy in the cache directory in use wins
        (tmp_path / "cache" / "hand_models" / name).write_bytes(path.read_bytes())
    assert hand_model_dir() == {name: tmp_path / "cache" / "hand_models" / name for name in MODEL_FILES}
