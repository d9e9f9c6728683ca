"""A real service process: probes, waiting for backing services, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from chassis import create_app
from chassis.ops import Lifecycle
from chassis.resources import Resources
from chassis.security import Credentials
from chassis.server import api_server, ops_server
from chassis.settings import ServiceSettings

from .conftest import free_port

SAMPLE = Path(__file__).with_name("sample_service.py")


class Process:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.ops_port = free_port()
        self.gate = tmp_path / "gate"
        self.slow_started = tmp_path / "slow-started"  # touched when /v1/slow begins
        env = {
            **os.environ,
            "MOSAIC_SERVICE": "sample",
            "PORT": str(self.port),
            "OPS_PORT": str(self.ops_port),
            "GATE": str(self.gate),
            "SLOW_STARTED": str(self.slow_started),
            "LOG_FORMAT": "json",
            "SHUTDOWN_GRACE_SECONDS": "5",
            "TRANSPORT_SECURITY": "mesh",
            "EDGE": "true",
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(SAMPLE)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def ops(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.ops_port}{path}", timeout=2)

    def wait_for(self, path: str, status: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.ops(path).status_code == status:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.proc.communicate()[0]
            time.sleep(0.05)
        raise AssertionError(f"{path} never answered {status}")


@pytest.fixture
def process(tmp_path: Path) -> Iterator[Process]:
    process = Process(tmp_path)
    yield process
    if process.proc.poll() is None:
        process.proc.kill()
    process.proc.communicate(timeout=10)


def test_waits_for_backing_services_then_serves(process: Process) -> None:
    process.wait_for("/healthz", 200)
    unready = process.ops("/readyz")
    assert unready.status_code == 503
    with pytest.raises(httpx.ConnectError):  # the API port opens only once ready
        httpx.get(f"http://127.0.0.1:{process.port}/v1/slow?seconds=0", timeout=1)
    process.gate.touch()
    process.wait_for("/readyz", 200)
    assert process.ops("/readyz").json()["checks"] == {"credentials": "ok", "gated": "ok"}
    response = httpx.get(f"http://127.0.0.1:{process.port}/v1/slow?seconds=0", timeout=2)
    assert response.status_code == 200


def test_sigterm_finishes_in_flight_requests_then_exits_zero(process: Process) -> None:
    process.gate.touch()
    process.wait_for("/readyz", 200)
    results: list[httpx.Response] = []

    def slow_call() -> None:
        url = f"http://127.0.0.1:{process.port}/v1/slow?seconds=1.5"
        results.append(httpx.get(url, timeout=10))

    caller = threading.Thread(target=slow_call)
    caller.start()
    deadline = time.monotonic() + 10
    while not process.slow_started.exists():  # the slow request is in flight
        assert time.monotonic() < deadline, "the slow request never reached the route"
        time.sleep(0.01)
    process.proc.send_signal(signal.SIGTERM)
    process.wait_for("/readyz", 503, timeout=1)  # out of rotation at once
    caller.join(timeout=10)
    assert [r.status_code for r in results] == [200]
    output, _ = process.proc.communicate(timeout=10)
    assert process.proc.returncode == 0, output
    assert "closed gated backend" in output  # pools closed after the last request
    assert "Traceback" not in output


SPOOFED = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}


def test_forwarded_headers_do_not_change_the_peer_the_app_sees(process: Process) -> None:
    # uvicorn's default would believe these from a loopback peer and hand the app
    # 203.0.113.7 over https; only the app may decide whose forwarded headers count.
    process.gate.touch()
    process.wait_for("/readyz", 200)
    url = f"http://127.0.0.1:{process.port}/v1/peer"
    seen = httpx.get(url, headers=SPOOFED, timeout=2).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http"}


def test_no_server_the_chassis_starts_believes_forwarded_headers(
    settings: ServiceSettings,
) -> None:
    lifecycle = Lifecycle(resources=Resources([]))
    credentials = Credentials.from_settings(settings)
    servers = [
        ops_server(lifecycle, settings),
        api_server(create_app(settings, routers=[]), settings, credentials),
    ]
    assert [server.config.proxy_headers for server in servers] == [False, False]


def test_a_web_process_without_port_stops_before_serving(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PORT"},
        "MOSAIC_SERVICE": "sample",
        "OPS_PORT": str(free_port()),
        "GATE": str(tmp_path / "gate"),
        "TRANSPORT_SECURITY": "mesh",
        "EDGE": "true",
    }
    done = subprocess.run(
        [sys.executable, str(SAMPLE)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 78, done.stderr
    assert "PORT is not set" in done.stderr
    assert "Traceback" not in done.stderr
