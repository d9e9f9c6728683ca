"""Configuration: a bad or missing variable stops the process with one clear line."""

from __future__ import annotations

import subprocess
import sys
import tempfile

ENV = {
    "MOSAIC_SERVICE": "catalog",
    "PORT": "8000",
    "OPS_PORT": "8001",
    "DATABASE_URL": "postgresql://catalog:pw@127.0.0.1:5432/catalog",
    "REDIS_URL": "redis://catalog:pw@127.0.0.1:6379/0",
    "TRANSPORT_SECURITY": "mesh",
    "SERVICE_TRUST_DIR": tempfile.gettempdir(),
}


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "from catalog.app import create_catalog_app; create_catalog_app()"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_the_defaults_and_a_good_environment_start() -> None:
    assert start(ENV).returncode == 0


def test_a_missing_database_url_is_named() -> None:
    env = {k: v for k, v in ENV.items() if k != "DATABASE_URL"}
    result = start(env)
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "DATABASE_URL is not set" in result.stderr


def test_a_bad_cache_ttl_is_named() -> None:
    result = start({**ENV, "CATALOG_CACHE_TTL_SECONDS": "0"})
    assert result.returncode == 78
    assert "CATALOG_CACHE_TTL_SECONDS is invalid" in result.stderr


def test_mtls_without_certificates_is_refused_naming_them() -> None:
    result = start({**ENV, "TRANSPORT_SECURITY": "mtls"})
    assert result.returncode == 78
    assert "TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE" in result.stderr


def test_a_missing_trust_dir_is_refused() -> None:
    env = {k: v for k, v in ENV.items() if k != "SERVICE_TRUST_DIR"}
    result = start(env)
    assert result.returncode == 78
    assert "SERVICE_TRUST_DIR" in result.stderr
