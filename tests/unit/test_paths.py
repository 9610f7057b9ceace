"""The one cache-directory function: argument, then $ASL_CACHE_DIR, then XDG, then ~/.cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from asl_recognition._paths import CACHE_ENV, default_cache_dir, user_cache_dir


def test_precedence_argument_env_xdg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert default_cache_dir() == tmp_path / "env"
    monkeypatch.setenv(CACHE_ENV, "")  # empty counts as unset
    assert default_cache_dir() == user_cache_dir() == tmp_path / "xdg" / "asl_recognition"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "asl_recognition"


def test_user_cache_ignores_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "asl_recognition"


def test_the_data_package_and_the_hand_models_share_it() -> None:
    from asl_recognition import data
    from asl_recognition.photo import hand_models

    assert data.default_cache_dir is default_cache_dir
    assert hand_models.default_model_dir().parent == default_cache_dir()
