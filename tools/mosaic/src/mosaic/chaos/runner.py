"""The runner's side of `mosaic chaos`: what the control channel (mosaic.control) asks of a
running stack, done by the stack that owns the processes and the hops' proxies.

- `chaos.faults`: every hop with its fault, and the paused processes;
- `chaos.fault`: put a fault on a hop (for some seconds, or until the next one);
- `chaos.kill`: SIGKILL a process (an embedded Postgres or Valkey too); its supervisor
  restarts it as after any crash;
- `chaos.pause`: SIGSTOP a process, SIGCONT after N seconds (the runner keeps the time,
  so a pause ends even when the command that asked is gone; stopping the shop ends it);
- `chaos.restart`: stop an embedded backing server (its stop signal: Postgres shuts down
  fast, Valkey saves) and wait for its supervisor to start it again, same data, same port.

Faults need `mosaic up --faults` (no proxy otherwise); the rest works on any shop that
runs its services as processes.
"""

import asyncio
import signal
import time
from typing import TYPE_CHECKING, Any

from mosaic.chaos.faults import check_seconds, fault_from_json
from mosaic.chaos.hops import Hops
from mosaic.children import signal_group
from mosaic.errors import MosaicError, UsageError
from mosaic.supervisor import State, Supervised

if TYPE_CHECKING:
    from mosaic.stack import Stack

MAX_PAUSE_SECONDS = 300  # a paused process holds its connections: bounded
RESTART_TIMEOUT = 60.0  # seconds for a backing server to be ready again (both take ~1)
BACKING_SERVERS = ("postgres", "valkey")


class Chaos:
    def __init__(self, stack: "Stack", hops: Hops | None) -> None:
        self.stack = stack
        self.hops = hops  # None: started without --faults
        self._paused: dict[str, tuple[int, float, asyncio.TimerHandle]] = {}

    async def handle(self, request: dict[str, Any]) -> Any:
        op = request["op"]
        if op == "chaos.faults":
            return self._listing()
        if op == "chaos.fault":
            return self._fault(request)
        if op == "chaos.kill":
            return self._kill(self._process(request))
        if op == "chaos.pause":
            return self._pause(self._process(request), request.get("seconds"))
        if op == "chaos.restart":
            return await self._restart(str(request.get("server")))
        raise MosaicError(f"unknown request {op!r}", "Use the same version of mosaic as `up`.")

    def resume_all(self) -> None:
        """SIGCONT whatever is paused: before the shop stops, so each can drain."""
        for name in list(self._paused):
            self._resume(name)

    def _listing(self) -> dict[str, Any]:
        hops = [] if self.hops is None else list(self.hops.proxies.values())
        return {
            "faults": self.hops is not None,
            "hops": [
                {
                    "hop": proxy.name,
                    "port": proxy.port,
                    "target": f"{proxy.target[0]}:{proxy.target[1]}",
                    "fault": proxy.fault.as_json(),
                    "describe": proxy.fault.describe(),
                    "until": proxy.until,
                    "connections": proxy.open_connections,
                    "accepted": proxy.accepted,
                }
                for proxy in sorted(hops, key=lambda p: p.name)
            ],
            "paused": [
                {"name": name, "pid": pid, "until": until}
                for name, (pid, until, _) in sorted(self._paused.items())
            ],
        }

    def _fault(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.hops is None:
            raise MosaicError(
                "this shop was started without --faults: its hops have no proxy",
                "Stop it (`mosaic down`) and start it again with `mosaic up --faults`.",
            )
        proxy = self.hops.find(str(request.get("hop")))
        fault = fault_from_json(request.get("fault"))
        seconds = request.get("seconds")
        if seconds is not None:
            if not isinstance(seconds, int | float):
                raise UsageError("--for must be a number of seconds")
            check_seconds("--for", seconds)
        note = self.stack.logs.note
        lasting = "" if seconds is None or fault.kind == "none" else f" for {seconds:g} s"
        note(f"chaos: {fault.describe()} on {proxy.name}{lasting}")
        proxy.set_fault(
            fault,
            None if fault.kind == "none" else seconds,
            lambda: note(f"chaos: the fault on {proxy.name} ended; none now"),
        )
        return {"hop": proxy.name, "describe": fault.describe(), "until": proxy.until}

    def _process(self, request: dict[str, Any]) -> Supervised:
        """The process a request names: SERVICE (its web process, or its only type),
        SERVICE.TYPE, with `replica` (default 1); or the full name, e.g. orders.relay.1;
        or an embedded server, postgres or valkey (a kill is a crash it restarts from)."""
        target = str(request.get("service"))
        replica = request.get("replica") or 1
        service, _, kind = target.partition(".")
        kind, _, numbered = kind.partition(".")
        if numbered.isdigit():
            replica = int(numbered)
        everything = [*self.stack.processes, *self.stack.backing.servers]
        mine = [p for p in everything if p.identity.service == service]
        if not mine:
            services = sorted({p.identity.service for p in everything})
            raise UsageError(
                f"this shop runs no service {service!r}", f"Services here: {', '.join(services)}."
            )
        kinds = sorted({p.identity.process for p in mine})
        if not kind:
            kind = "web" if "web" in kinds else kinds[0] if len(kinds) == 1 else ""
        if kind and kind not in kinds:
            raise UsageError(
                f"{service} has no process type {kind!r}", f"Its types: {', '.join(kinds)}."
            )
        if not kind:
            raise UsageError(
                f"{service} runs the process types {', '.join(kinds)}: name one",
                f"For example: {service}.{kinds[-1]}",
            )
        found = [p for p in mine if p.identity.process == kind and p.identity.replica == replica]
        if not found:
            replicas = sorted(p.identity.replica for p in mine if p.identity.process == kind)
            raise UsageError(
                f"{service}.{kind} has no replica {replica}",
                f"Its replicas: {', '.join(map(str, replicas))}.",
            )
        return found[0]

    def _kill(self, process: Supervised) -> dict[str, Any]:
        pid = self._running(process)
        self.stack.logs.note(f"chaos: SIGKILL to {process.identity.name} (pid {pid})")
        signal_group(pid, signal.SIGKILL)
        return {"name": process.identity.name, "pid": pid}

    def _pause(self, process: Supervised, seconds: Any) -> dict[str, Any]:
        if not isinstance(seconds, int | float) or not 0 < seconds <= MAX_PAUSE_SECONDS:
            raise UsageError(f"--for {seconds}: must be above 0 and at most {MAX_PAUSE_SECONDS} s")
        name, pid = process.identity.name, self._running(process)
        if name in self._paused:
            raise MosaicError(f"{name} is paused already", "`mosaic chaos faults` says until when.")
        self.stack.logs.note(f"chaos: SIGSTOP to {name} (pid {pid}) for {seconds:g} s")
        signal_group(pid, signal.SIGSTOP)
        handle = asyncio.get_running_loop().call_later(seconds, self._resume, name)
        until = time.time() + seconds
        self._paused[name] = (pid, until, handle)
        return {"name": name, "pid": pid, "until": until}

    def _resume(self, name: str) -> None:
        pid, _, handle = self._paused.pop(name)
        handle.cancel()
        process = next((p for p in self.stack.processes if p.identity.name == name), None)
        if process is not None and process.pid == pid:  # not restarted meanwhile
            signal_group(pid, signal.SIGCONT)
            self.stack.logs.note(f"chaos: SIGCONT to {name} (pid {pid})")

    @staticmethod
    def _running(process: Supervised) -> int:
        if process.pid is None:
            raise MosaicError(
                f"{process.identity.name} is not running now ({process.state})",
                "`mosaic status` shows when it is back.",
            )
        return process.pid

    async def _restart(self, name: str) -> dict[str, Any]:
        if name not in BACKING_SERVERS:
            raise UsageError(f"cannot restart {name!r}", "Restart postgres or valkey.")
        server = next((s for s in self.stack.backing.servers if s.identity.name == name), None)
        if server is None:
            raise MosaicError(
                f"this shop runs no {name} of its own (an external server, by URL)",
                "Restart that server where it runs.",
            )
        pid = self._running(server)
        began = time.monotonic()
        self.stack.logs.note(f"chaos: restarting {name} (pid {pid}): stop, then start again")
        signal_group(pid, server.command.stop_signal)
        deadline = began + RESTART_TIMEOUT
        while not (server.pid not in (None, pid) and server.state == State.READY):
            if time.monotonic() > deadline or server.state == State.CRASHED:
                raise MosaicError(
                    f"{name} was not ready again within {RESTART_TIMEOUT:.0f} s",
                    "Its output (`mosaic logs`) says why; `mosaic status` shows its state.",
                )
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - began
        self.stack.logs.note(f"chaos: {name} is back (pid {server.pid}) after {seconds:.1f} s")
        return {"name": name, "pid": server.pid, "seconds": round(seconds, 2)}
