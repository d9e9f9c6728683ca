"""Configuration: a bad or missing variable stops the process with one clear line."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ENV = {
    "MOSAIC_SERVICE": "currency",
    "PORT": "8000",
    "OPS_PORT": "8001",
    "TRANSPORT_SECURITY": "mesh",
    "SERVICE_TRUST_DIR": tempfile.gettempdir(),
}


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "from currency.app import create_currency_app; create_currency_app()"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    return result.stderr


def test_the_defaults_and_a_good_environment_start() -> None:
    assert start(ENV).returncode == 0


def test_another_rates_file_can_be_attached(tmp_path: Path) -> None:
    rates = tmp_path / "eurofxref-daily.xml"
    rates.write_text(
        "<gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' "
        "xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'>"
        "<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>"
        "<Cube><Cube time='2026-05-08'><Cube currency='USD' rate='1.1761'/></Cube></Cube>"
        "</gesmes:Envelope>"
    )

    assert start({**ENV, "CURRENCY_RATES_FILE": str(rates)}).returncode == 0


def test_a_rates_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    result = start({**ENV, "CURRENCY_RATES_FILE": str(tmp_path / "missing.xml")})

    assert "CURRENCY_RATES_FILE is invalid" in one_line(result)


def test_a_rates_file_that_cannot_be_used_is_named(tmp_path: Path) -> None:
    rates = tmp_path / "rates.xml"
    rates.write_text("USD,1.07\n")

    result = start({**ENV, "CURRENCY_RATES_FILE": str(rates)})

    assert f"CURRENCY_RATES_FILE {rates} is not XML" in one_line(result)


def test_mtls_without_certificates_is_refused_naming_them() -> None:
    result = start({**ENV, "TRANSPORT_SECURITY": "mtls"})

    assert "TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE" in one_line(result)


def test_a_missing_trust_dir_is_refused() -> None:
    env = {k: v for k, v in ENV.items() if k != "SERVICE_TRUST_DIR"}

    assert "SERVICE_TRUST_DIR" in one_line(start(env))
