"""The callee side of bench/hop.py: throwaway PKI, and one hop_service.py process per mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from mosaic.pki import (
    issue_ca,
    issue_leaf,
    new_signing_key,
    private_key_pem,
    public_key_pem,
    write_leaf_files,
)

SERVICE_SCRIPT = Path(__file__).resolve().parent / "hop_service.py"
CALLEE, CALLER = "hop", "bench"

# Settings the callee reads; dropped from the inherited environment so only ours apply.
SETTING_NAMES = frozenset(
    {
        "EDGE",
        "TRANSPORT_SECURITY",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
        "TLS_CA_FILE",
        "SERVICE_SIGNING_KEY_FILE",
        "SERVICE_TRUST_DIR",
        "REQUEST_BUDGET_MS",
        "LOG_FORMAT",
        "LOG_LEVEL",
    }
)


class CalleeFailed(Exception):
    """A callee process exited or never listened."""


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_signing_key: Path
    trust_dir: Path


def make_pki(folder: Path) -> Pki:
    """A CA, leaves for the callee and the caller, the caller's token key, the trust dir."""
    ca = issue_ca("Mosaic hop bench CA")
    (folder / "ca.crt").write_bytes(ca.cert_pem)
    server_cert, server_key = write_leaf_files(issue_leaf(ca, CALLEE), folder / CALLEE)
    client_cert, client_key = write_leaf_files(issue_leaf(ca, CALLER), folder / CALLER)
    signing = new_signing_key()
    signing_file = folder / CALLER / "signing.key"
    signing_file.touch(mode=0o600)
    signing_file.write_bytes(private_key_pem(signing))
    trust = folder / "trust"
    trust.mkdir()
    (trust / f"{CALLER}.pub").write_bytes(public_key_pem(signing))
    return Pki(
        folder / "ca.crt", server_cert, server_key, client_cert, client_key, signing_file, trust
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(mode: str, pki: Pki, port: int) -> dict[str, str]:
    """The callee's settings, as `mosaic up` would hand them over, for one mode."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env |= {
        "MOSAIC_SERVICE": CALLEE,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPS_PORT": str(free_port()),
        "LOG_FORMAT": "json",  # the canonical line per request, as in production
        "LOG_LEVEL": "info",
        "EDGE": "true" if mode in {"plain", "tls"} else "false",
        "TRANSPORT_SECURITY": "mtls" if mode == "mtls" else "mesh",
    }
    if mode in {"tls", "mtls"}:
        env |= {
            "TLS_CERT_FILE": str(pki.server_cert),
            "TLS_KEY_FILE": str(pki.server_key),
            "TLS_CA_FILE": str(pki.ca),
        }
    if mode in {"token", "mtls"}:
        env["SERVICE_TRUST_DIR"] = str(pki.trust_dir)
    return env


class Callee:
    """One hop_service.py process, its log in `folder/<mode>.log`."""

    def __init__(self, mode: str, pki: Pki, folder: Path) -> None:
        self.mode = mode
        self.port = free_port()
        self.log = folder / f"{mode}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SERVICE_SCRIPT), mode],
                env=service_env(mode, pki, self.port),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches the bench only; the bench stops us
            )
        self.stats = psutil.Process(self.process.pid)

    def cpu_seconds(self) -> float:
        times = self.stats.cpu_times()
        return float(times.user + times.system)

    def wait_listening(self, timeout: float = 60.0) -> None:
        """The chassis opens the API port once the app has started, so a connect means ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CalleeFailed(
                    f"the {self.mode} callee exited ({self.process.returncode}):\n{self.tail()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise CalleeFailed(
            f"the {self.mode} callee did not listen in {timeout:.0f} s:\n{self.tail()}"
        )

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (the chassis drains and exits), SIGKILL if that takes too long."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_callees(modes: Iterable[str], pki: Pki, folder: Path) -> Iterator[dict[str, Callee]]:
    """Start one callee per mode (all at once), wait until each listens, stop all at the end."""
    with ExitStack() as stack:
        callees: dict[str, Callee] = {}
        for mode in modes:
            callees[mode] = Callee(mode, pki, folder)
            stack.callback(callees[mode].stop)
        for callee in callees.values():
            callee.wait_listening()
        yield callees
