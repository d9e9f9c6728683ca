"""`python -m chassis.host SPEC`: two services in one real process, each built with its own
environment, each with its ports and probes, its lines naming it; SIGTERM stops both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .conftest import free_port

TESTS = Path(__file__).parent


def unit(name: str, gate: Path) -> dict[str, Any]:
    env = {
        "MOSAIC_SERVICE": name,
        "PORT": str(free_port()),
        "OPS_PORT": str(free_port()),
        "GATE": str(gate),  # sample_service reads it when built: each its own
        "LOG_FORMAT": "json",
        "SHUTDOWN_GRACE_SECONDS": "5",
        "TRANSPORT_SECURITY": "mesh",
        "EDGE": "true",
    }
    return {"service": name, "process": "web", "factory": "sample_service:create", "env": env}


def status(port: str, path: str) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except httpx.TransportError:
        return 0


def wait(
    check: Callable[[], bool], what: str, proc: subprocess.Popen[str], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_two_services_in_one_process_each_with_its_env_ports_and_name(tmp_path: Path) -> None:
    alpha, beta = unit("alpha", tmp_path / "alpha-gate"), unit("beta", tmp_path / "beta-gate")
    (tmp_path / "alpha-gate").touch()
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"units": [alpha, beta]}))
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    env.pop("GATE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "chassis.host", str(spec)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports = {u["service"]: u["env"] for u in (alpha, beta)}
    try:
        a, b = ports["alpha"], ports["beta"]
        wait(lambda: status(a["OPS_PORT"], "/readyz") == 200, "alpha ready", proc)
        # beta's backing service (its gate) is not there yet: it waits, alpha serves.
        assert status(b["OPS_PORT"], "/readyz") == 503
        assert status(a["PORT"], "/v1/slow?seconds=0") == 200
        # A hosted app's port, like a process's own, ignores forwarded headers.
        spoofed = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
        seen = httpx.get(f"http://127.0.0.1:{a['PORT']}/v1/peer", headers=spoofed, timeout=2)
        assert seen.json() == {"client": "127.0.0.1", "scheme": "http"}
        (tmp_path / "beta-gate").touch()
        wait(lambda: status(b["OPS_PORT"], "/readyz") == 200, "beta ready", proc)
        assert status(b["PORT"], "/v1/slow?seconds=0") == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    served = {(e["service"], e["route"]) for e in lines if e["event"] == "request"}
    assert served == {("alpha", "/v1/slow"), ("alpha", "/v1/peer"), ("beta", "/v1/slow")}
    assert any(e["event"] == "stopped" and e["logger"] == "chassis.host" for e in lines)
