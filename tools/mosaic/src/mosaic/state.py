"""What a running `mosaic up` shares with other commands, under $MOSAIC_HOME/run/:

- `up.lock`: held (flock) by the one `up` of this home for its lifetime; the kernel drops
  it when that process dies, however it dies. It holds the runner's pid.
- `state.json`: every process with its pid, ports and state, replaced atomically on each
  change, read by `mosaic status` and `mosaic down`.
"""

import contextlib
import fcntl
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from mosaic.errors import MosaicError


def run_dir(home: Path) -> Path:
    return home / "run"


class UpLock:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = run_dir(home) / "up.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = runner_pid(self.home)
            raise MosaicError(
                f"mosaic up is already running on {self.home}" + (f" (pid {pid})" if pid else ""),
                "Stop it with `mosaic down`, or set MOSAIC_HOME to another folder.",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def runner_pid(home: Path) -> int | None:
    """The pid of the `mosaic up` running on home, or None when none runs."""
    path = run_dir(home) / "up.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = path.read_text().strip()
            return int(text) if text.isdigit() else None
        return None  # we got the lock, so nobody holds it
    finally:
        os.close(fd)


def write_state(home: Path, state: dict[str, Any]) -> None:
    path = run_dir(home) / "state.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)  # readers see the old or the new file, never half of one


def served_by(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry that names a service and its API port: the processes, and in
    `--in-process` mode the services the one host process serves (`hosted`)."""
    entries = [*state.get("processes", []), *state.get("hosted", [])]
    return [e for e in entries if isinstance(e, dict)]


def read_state(home: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir(home) / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def reap_leftovers(home: Path, grace: float = 10.0) -> list[str]:
    """Stop processes a SIGKILLed `up` left behind, by the state it last wrote.

    Its children got their stop signal when it died (PDEATHSIG) and are probably exiting
    already: give them `grace` seconds, then SIGKILL their process groups (which also
    catches grandchildren, e.g. of a shell). Only a process with the recorded pid *and*
    creation time is touched, so a reused pid is safe.
    """
    leftovers: dict[int, str] = {}
    for entry in (read_state(home) or {}).get("processes", []):
        pid, created = entry.get("pid"), entry.get("started_at")
        if isinstance(pid, int) and created is not None and _is(pid, float(created)):
            leftovers[pid] = str(entry.get("name", pid))
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(map(_alive, leftovers)):
        time.sleep(0.05)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return list(leftovers.values())


def _is(pid: int, created: float) -> bool:
    try:
        return bool(abs(psutil.Process(pid).create_time() - created) < 0.01)
    except psutil.Error:
        return False


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
