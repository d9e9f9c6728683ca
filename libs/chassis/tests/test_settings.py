from __future__ import annotations

import subprocess
import sys

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
