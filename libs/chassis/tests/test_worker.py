"""A real worker process: ops probes without an API, consuming events, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from chassis.events import Event, Publisher
from mosaic.backing import BackingServers

from .conftest import free_port

SAMPLE = Path(__file__).with_name("sample_worker.py")


def wait_for(check: object, what: str, timeout: float = 30) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def readyz(ops_port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=2).status_code
    except httpx.TransportError:
        return 0


def publish(url: str, stream: str, event: Event) -> None:
    async def publishing() -> None:
        async with Publisher(url) as publisher:
            await publisher.publish(stream, event)

    asyncio.run(publishing())


def test_a_worker_serves_probes_consumes_and_stops_gracefully(
    tmp_path: Path, backing: BackingServers
) -> None:
    ops_port, out, stream = free_port(), tmp_path / "out", f"events:w{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "MOSAIC_SERVICE": "sample",
        "OPS_PORT": str(ops_port),  # and no PORT: a worker serves no API
        "LOG_FORMAT": "json",
        "TRANSPORT_SECURITY": "mesh",
        "EDGE": "true",
        "BROKER_URL": backing.admin_redis_url,
        "STREAM": stream,
        "OUT": str(out),
    }
    process = subprocess.Popen(
        [sys.executable, str(SAMPLE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: readyz(ops_port) == 200, "ready")
        health = httpx.get(f"http://127.0.0.1:{ops_port}/healthz", timeout=2).json()
        assert health["service"] == "sample"
        event = Event(type="Sample", version=1)
        publish(backing.admin_redis_url, stream, event)
        wait_for(lambda: out.exists() and out.read_text() == f"{event.id}\n", "event handled")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate(timeout=10)[0].decode()
    assert '"event":"shutting down"' in output
    assert '"event":"stopped"' in output


def test_a_bad_broker_url_is_a_configuration_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MOSAIC_SERVICE": "sample",
        "PORT": str(free_port()),
        "OPS_PORT": str(free_port()),
        "TRANSPORT_SECURITY": "mesh",
        "EDGE": "true",
        "BROKER_URL": "http://nope",
        "STREAM": "events:x",
        "OUT": str(tmp_path / "out"),
    }
    result = subprocess.run(
        [sys.executable, str(SAMPLE)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 78
    assert "BROKER_URL is invalid" in result.stderr
    assert "Traceback" not in result.stderr
