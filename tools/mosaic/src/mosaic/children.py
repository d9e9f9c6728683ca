"""Spawning and stopping child processes so that none outlives the runner.

Every child gets its own session (so a signal reaches its whole process group, shell and
all) and asks the kernel to send it its stop signal when the runner dies, even by SIGKILL
(prctl PR_SET_PDEATHSIG). The stop signal rather than SIGKILL: Postgres then shuts down
fast and cleanly, Valkey saves, services drain; all of them exit within their grace period.
"""

import asyncio
import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaic.errors import MosaicError

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork, as preexec_fn must not


@dataclass(frozen=True)
class Command:
    """What to run, as whom, and how to ask it to stop."""

    argv: Sequence[str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    user: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    grace_seconds: float = 10.0


def _die_with_parent(sig: signal.Signals, parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        # Runs in the child after setuid (PDEATHSIG is cleared by a credential change).
        _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def popen_kwargs(command: Command) -> dict[str, Any]:
    """Keyword arguments for subprocess.Popen / asyncio.create_subprocess_exec."""
    return {
        "cwd": command.cwd,
        "env": dict(command.env) if command.env is not None else None,
        "user": command.user,
        "start_new_session": True,
        "preexec_fn": _die_with_parent(command.stop_signal, os.getpid()),
    }


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send sig to the process group led by pid; a group that is gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_sync(pid: int, command: Command, poll: Callable[[], int | None]) -> None:
    """Stop a child spawned with popen_kwargs: its stop signal, the grace period, SIGKILL."""
    signal_group(pid, command.stop_signal)
    deadline = time.monotonic() + command.grace_seconds
    while poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    signal_group(pid, signal.SIGKILL)  # also reaps stragglers left in the group
    while poll() is None:
        time.sleep(0.01)


async def spawn(command: Command, limit: int) -> asyncio.subprocess.Process:
    """Start a child with stdout and stderr merged into one pipe of lines up to `limit`."""
    try:
        return await asyncio.create_subprocess_exec(
            *command.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=limit,
            **popen_kwargs(command),
        )
    except OSError as error:  # e.g. a missing program or folder
        raise MosaicError(f"cannot start {' '.join(command.argv)}: {error}") from None


async def terminate(process: asyncio.subprocess.Process, command: Command, grace: float) -> None:
    """Its stop signal to the group, up to `grace` seconds to exit, then SIGKILL."""
    if process.returncode is None:
        signal_group(process.pid, command.stop_signal)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), grace)
    signal_group(process.pid, signal.SIGKILL)  # the rest of its group, if any
    await process.wait()
