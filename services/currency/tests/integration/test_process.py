"""The web process as the runner starts it: the Procfile's command, real ports, SIGTERM."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from chassis.testing import ServiceKeys

SERVICE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def web_command() -> list[str]:
    for line in (SERVICE_DIR / "Procfile").read_text().splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() == "web":
            return shlex.split(command)
    raise AssertionError("the Procfile has no web process")


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the process exited before it was ready"
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")


@pytest.fixture
def web(keys: ServiceKeys) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    port, ops_port = free_port(), free_port()
    env = {
        **os.environ,
        # As the runner does: the workspace venv first on PATH, cwd the service folder.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MOSAIC_SERVICE": "currency",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPS_PORT": str(ops_port),
        "LOG_FORMAT": "json",
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
    }
    process = subprocess.Popen(
        web_command(), cwd=SERVICE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_ready(f"http://127.0.0.1:{ops_port}/readyz", process)
        yield process, port, ops_port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def test_the_web_process_serves_then_stops_cleanly_on_sigterm(
    web: tuple[subprocess.Popen[bytes], int, int], keys: ServiceKeys
) -> None:
    process, port, _ = web

    response = httpx.get(
        f"http://127.0.0.1:{port}/v1/convert",
        params={"amount": 2400, "from": "USD", "to": "JPY"},
        headers=keys.headers("frontend", "currency"),
        timeout=5.0,
    )
    assert response.status_code == 200
    assert response.json()["converted"] == {"amount": 3855, "currency": "JPY"}

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
