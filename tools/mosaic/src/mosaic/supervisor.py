"""Keep one process running: start it, stream its output, probe its readiness, then its
liveness and readiness for as long as it runs (mosaic.liveness), restart it with exponential
backoff when it dies or falls silent, stop it gracefully."""

import asyncio
import contextlib
import enum
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from mosaic.children import Command, signal_group, spawn, terminate
from mosaic.errors import MosaicError
from mosaic.liveness import Check, answered, cancelled, watch
from mosaic.logs import LINE_LIMIT, LogStream
from mosaic.probes import READINESS, Probe

EX_CONFIG = 78  # the contract: a bad setting; restarting cannot help
PROBE_INTERVAL = 0.1


class State(enum.StrEnum):
    STARTING = "starting"
    READY = "ready"
    UNREADY = "unready"  # alive, but its /readyz fails (e.g. its database is down)
    RESTARTING = "restarting"
    CRASHED = "crashed"
    STOPPED = "stopped"


@dataclass
class Backoff:
    """0.5 s, 1 s, 2 s, ... up to 30 s between restarts; back to 0.5 s after 30 s of uptime."""

    initial: float = 0.5
    cap: float = 30.0
    reset_after: float = 30.0
    failures: int = 0

    def next_delay(self, uptime: float) -> float:
        if uptime >= self.reset_after:
            self.failures = 0
        delay = min(self.cap, self.initial * 2.0**self.failures)
        self.failures += 1
        return delay


@dataclass(frozen=True)
class Identity:
    """How a process shows up in logs and `mosaic status`."""

    name: str  # catalog.web.1, postgres, valkey
    service: str
    process: str
    replica: int = 1
    port: int | None = None
    ops_port: int | None = None
    build: str | None = None  # a service process's code: mosaic.builds.WORKTREE or a sha


@dataclass
class Supervised:
    identity: Identity
    command: Command
    probe: Callable[[], Awaitable[bool]]  # ready: polled until it first holds, then followed
    logs: LogStream
    on_change: Callable[[], None]
    alive: Check | None = None  # liveness; None: probed only until ready (backing servers)
    liveness: Probe | None = None  # None: no liveness kills (MOSAIC_LIVENESS=off)
    readiness: Probe = READINESS
    give_up_after: int = 5  # consecutive failures without ever becoming ready
    state: State = State.STOPPED
    pid: int | None = None
    started_at: float | None = None  # process creation time, to recognise it later
    restarts: int = 0
    last_exit: int | None = None
    reason: str | None = None  # how it last ended, e.g. "was killed by SIGKILL: not answering ..."
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # ready, or given up
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _silent: str | None = None  # why the runner killed the current process, if it did
    _process: asyncio.subprocess.Process | None = None
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.identity.name)

    async def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None:
            await terminate(process, self.command, self.command.grace_seconds)
        if self._task is not None:
            await self._task

    def kill(self) -> None:
        """SIGKILL its process group now; the run loop then ends as after stop()."""
        self._stopping.set()
        if self.pid is not None:
            signal_group(self.pid, signal.SIGKILL)

    def status(self) -> dict[str, Any]:
        return {
            "name": self.identity.name,
            "service": self.identity.service,
            "process": self.identity.process,
            "replica": self.identity.replica,
            "pid": self.pid,
            "port": self.identity.port,
            "ops_port": self.identity.ops_port,
            "build": self.identity.build,
            "state": str(self.state),
            "restarts": self.restarts,
            "reason": self.reason,
            "started_at": self.started_at,
        }

    def failure(self) -> MosaicError:
        what = "has a configuration error" if self.last_exit == EX_CONFIG else "keeps failing"
        return MosaicError(
            f"{self.identity.name} {what}; its last output:",
            "Fix the cause, then run `mosaic up` again.",
            output="\n".join(self.tail) or "(no output)",
        )

    async def _run(self) -> None:
        backoff = Backoff()
        failures_before_ready = 0
        while not self._stopping.is_set():
            self._set(State.STARTING)
            began = time.monotonic()
            code = self.last_exit = await self._run_once()
            if self._stopping.is_set():
                break
            uptime = time.monotonic() - began
            failures_before_ready = 0 if self.settled.is_set() else failures_before_ready + 1
            self.reason = _ended(code) + (f": {self._silent}" if self._silent else "")
            if code == EX_CONFIG or failures_before_ready >= self.give_up_after:
                why = "a configuration error" if code == EX_CONFIG else "it never became ready"
                self.reason = f"{_ended(code)}: {why}"
                self.logs.note(f"{self.identity.name} {self.reason}; not restarting")
                self._set(State.CRASHED)
                self.settled.set()
                return
            delay = backoff.next_delay(uptime)
            self.logs.note(f"{self.identity.name} {self.reason}; restarting in {delay:g} s")
            self._set(State.RESTARTING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            self.restarts += 1
        self._set(State.STOPPED)

    async def _run_once(self) -> int | None:
        self._silent = None
        try:
            process = await spawn(self.command, LINE_LIMIT)
        except MosaicError as error:
            self.tail.append(str(error))
            self.logs.note(str(error))
            return None
        self._process, self.pid = process, process.pid
        self.started_at = _create_time(process.pid)
        self.on_change()
        if self._stopping.is_set():  # stop() came while it was being spawned
            await terminate(process, self.command, self.command.grace_seconds)
        assert process.stdout is not None
        pump = asyncio.create_task(self.logs.pump(self.identity.name, process.stdout, self.tail))
        probe = asyncio.create_task(self._probe())
        waiting = asyncio.create_task(process.wait())
        await asyncio.wait({waiting, probe}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done() and (silent := _silence(probe)) and not self._stopping.is_set():
            # SIGKILL: a stopped process cannot handle SIGTERM, a wedged one would not drain.
            self._silent = f"not answering its liveness probe for {silent:.0f} s"
            self.logs.note(f"{self.identity.name} is {self._silent}; killing it (SIGKILL)")
            signal_group(process.pid, signal.SIGKILL)
        code = await waiting
        probe.cancel()
        # Whatever it left in its group would hold the pipe open and is orphaned anyway.
        signal_group(process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pump, 2)
        await cancelled(probe)
        self._process, self.pid = None, None
        return code

    async def _probe(self) -> float | None:
        """Ready, then watched (mosaic.liveness); how long it has been silent, once it has
        failed its liveness probe; None when it is not watched."""
        if not await self._probe_until_ready() or self.alive is None:
            return None
        return await watch(self.alive, self.probe, self.liveness, self.readiness, self._ready)

    async def _probe_until_ready(self) -> bool:
        try:
            while True:
                if await answered(self.probe, self.readiness.timeout):
                    break
                await asyncio.sleep(PROBE_INTERVAL)
        except MosaicError as error:  # it runs, but will never be usable as it is
            self.tail.append(str(error))
            self.logs.note(str(error))
            self._set(State.CRASHED)
            self.settled.set()
            return False
        self._set(State.READY)
        self.settled.set()
        return True

    def _ready(self, ready: bool) -> None:
        if not self._stopping.is_set():
            was = "ready again" if ready else "unready: its /readyz fails"
            self.logs.note(f"{self.identity.name} is {was}")
            self._set(State.READY if ready else State.UNREADY)

    def _set(self, state: State) -> None:
        self.state = state
        self.on_change()


def _ended(code: int | None) -> str:
    if code is None:
        return "could not start"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _silence(probe: asyncio.Task[float | None]) -> float | None:
    """The seconds a finished probe task found its process silent; None if it did not."""
    if probe.exception() is not None:  # a bug in a probe: never a reason to kill
        return None
    return probe.result()


def _create_time(pid: int) -> float | None:
    try:
        created: float = psutil.Process(pid).create_time()
        return created
    except psutil.Error:
        return None
