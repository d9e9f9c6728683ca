"""Settings: the processor timeout's default and bounds, each bad value one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from payments.settings import PaymentsSettings

BASE = {
    "MOSAIC_SERVICE": "payments",
    "PORT": "8000",
    "OPS_PORT": "8001",
    "DATABASE_URL": "postgresql://payments@127.0.0.1/payments",
    "TRANSPORT_SECURITY": "mesh",
}


def settings(tmp_path: Path, **extra: Any) -> PaymentsSettings:
    return PaymentsSettings.model_validate({**BASE, "SERVICE_TRUST_DIR": str(tmp_path), **extra})


def test_the_processor_timeout_defaults_to_two_seconds(tmp_path: Path) -> None:
    assert settings(tmp_path).processor_timeout_seconds == 2.0
    assert settings(tmp_path, PROCESSOR_TIMEOUT_SECONDS="0.5").processor_timeout_seconds == 0.5


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"PROCESSOR_TIMEOUT_SECONDS": "0"},
            "PROCESSOR_TIMEOUT_SECONDS is invalid (Input should be greater than 0)",
        ),
        ({"PROCESSOR_TIMEOUT_SECONDS": "soon"}, "PROCESSOR_TIMEOUT_SECONDS is invalid"),
        (
            {"PROCESSOR_TIMEOUT_SECONDS": "3", "REQUEST_BUDGET_MS": "2000"},
            "PROCESSOR_TIMEOUT_SECONDS must be below REQUEST_BUDGET_MS",
        ),
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
    ],
)
def test_a_bad_setting_stops_the_process_with_one_line(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    full = {"PATH": "/usr/bin:/bin", **BASE, "SERVICE_TRUST_DIR": str(tmp_path), **env}
    full = {name: value for name, value in full.items() if value}
    done = subprocess.run(
        [sys.executable, "-m", "payments"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 78, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("configuration error: ")
    assert says in lines[0]
