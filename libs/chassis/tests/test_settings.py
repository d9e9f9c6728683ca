from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from chassis.settings import (
    EX_CONFIG,
    CacheSettings,
    DatabaseSettings,
    ServiceSettings,
    load_settings,
)


class CatalogLike(ServiceSettings, DatabaseSettings, CacheSettings):
    pass


def test_reads_every_field_from_env(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/db")
    monkeypatch.setenv("REDIS_URL", "redis://u:p@127.0.0.1:6379/0")
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "3.5")
    settings = load_settings(CatalogLike)
    assert settings.service_name == "testsvc"
    assert settings.shutdown_grace_seconds == 3.5
    assert settings.database_url.startswith("postgresql://")
    assert settings.version  # from package metadata when SERVICE_VERSION is absent


def test_missing_variable_exits_with_one_line_naming_it(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(SystemExit) as stopped:
        load_settings(CatalogLike)
    assert stopped.value.code == EX_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "DATABASE_URL is not set" in err
    assert "postgresql://" in err  # says what is expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://x@y/z", "postgresql://"),
        ("REDIS_URL", "http://x", "redis://"),
        ("PORT", "eighty", "PORT is invalid"),
        ("PORT", "70000", "PORT is invalid"),
        ("SHUTDOWN_GRACE_SECONDS", "-1", "SHUTDOWN_GRACE_SECONDS is invalid"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT is invalid"),
    ],
)
def test_invalid_variable_is_named_with_what_is_expected(
    settings_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit):
        load_settings(CatalogLike)
    err = capsys.readouterr().err
    assert expected in err
    assert name in err


def test_a_real_process_stops_before_serving_with_exit_78() -> None:
    code = (
        "from chassis import ServiceSettings, DatabaseSettings, load_settings\n"
        "class S(ServiceSettings, DatabaseSettings): pass\n"
        "load_settings(S)\n"
    )
    env = {"MOSAIC_SERVICE": "x", "PORT": "1234", "OPS_PORT": "1235", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == EX_CONFIG
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_needs_no_port(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker or relay (and its container) serves only its ops port.
    monkeypatch.delenv("PORT", raising=False)
    settings = load_settings(ServiceSettings)
    assert settings.port is None
    assert settings.ops_port > 0


def test_a_web_process_without_port_stops_with_one_line(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    settings = load_settings(ServiceSettings)
    with pytest.raises(SystemExit) as stopped:
        settings.api_port()
    assert stopped.value.code == EX_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "PORT is not set" in err


DB_URL = "postgresql://catalog:from-file@postgres:5432/catalog"


def secret_files(folder: Path, **values: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (folder / name).write_text(value)
    return folder


def test_secrets_dir_fills_variables_from_files_named_after_them(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    folder = secret_files(
        tmp_path / "secrets", DATABASE_URL=DB_URL + "\n", REDIS_URL="redis://c:p@valkey:6379/0\n"
    )
    monkeypatch.setenv("SECRETS_DIR", str(folder))
    settings = load_settings(CatalogLike)
    assert settings.database_url == DB_URL  # without the file's newline
    assert settings.redis_url == "redis://c:p@valkey:6379/0"


def test_secrets_dir_as_a_kubernetes_secret_volume_mounts_it(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Kubernetes links each key through ..data to a timestamped folder it swaps on update."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    volume = tmp_path / "secrets"
    secret_files(volume / "..2026_12_06_15_00_00.1", DATABASE_URL=DB_URL)
    (volume / "..data").symlink_to("..2026_12_06_15_00_00.1")
    (volume / "DATABASE_URL").symlink_to("..data/DATABASE_URL")
    monkeypatch.setenv("SECRETS_DIR", str(volume))
    assert load_settings(DatabaseSettings).database_url == DB_URL


def test_the_environment_wins_over_a_secret_file(
    settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/db")
    monkeypatch.setenv("SECRETS_DIR", str(secret_files(tmp_path / "s", DATABASE_URL=DB_URL)))
    assert load_settings(DatabaseSettings).database_url == "postgresql://u:p@127.0.0.1:5432/db"


def test_a_bad_value_in_a_secret_file_is_named_like_a_bad_variable(
    settings_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    folder = secret_files(tmp_path / "s", DATABASE_URL="mysql://x@y/z\n")
    monkeypatch.setenv("SECRETS_DIR", str(folder))
    with pytest.raises(SystemExit) as stopped:
        load_settings(DatabaseSettings)
    assert stopped.value.code == EX_CONFIG
    assert "DATABASE_URL is invalid" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_secrets_dir_that_is_no_folder_stops_with_one_line_naming_it(
    settings_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    path = tmp_path / "secrets"
    if kind == "file":
        path.write_text("DATABASE_URL=x\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/db")
    monkeypatch.setenv("SECRETS_DIR", str(path))
    with pytest.raises(SystemExit) as stopped:
        load_settings(DatabaseSettings)
    assert stopped.value.code == EX_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("configuration error: SECRETS_DIR is invalid")
    assert str(path) in err


def test_an_unreadable_secret_file_stops_with_one_line(
    settings_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    folder = secret_files(tmp_path / "s")
    (folder / "DATABASE_URL").write_bytes(b"\xff\xfe not utf-8")
    monkeypatch.setenv("SECRETS_DIR", str(folder))
    with pytest.raises(SystemExit) as stopped:
        load_settings(DatabaseSettings)
    assert stopped.value.code == EX_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "SECRETS_DIR" in err
