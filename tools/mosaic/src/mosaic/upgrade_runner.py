"""The runner's side of `mosaic upgrade`: what the control channel (mosaic.control) asks of
a running stack, done by the stack that owns the processes.

- `replicas`, `builds`: what runs, per service;
- `release`: a build's release process (migrations), with the service's environment;
- `start`: one more replica of a process type from a build, on the service's port (the
  replicas share it by SO_REUSEPORT) with an ops port of its own; answered once it is ready;
- `retire`: drain and stop a replica (SIGTERM: the chassis turns readiness off, stops
  accepting, finishes what is in flight, closes its keep-alive connections), never
  restarted: it leaves the supervision; refused for the last ready replica of its type;
- `record`: every replica of a service runs a build now (state.json's `builds`).

The build's files and environments are made beforehand by the command (mosaic.builds);
here a build is only read, and checked against what the stack was started with
(mosaic.upgrade_checks).
"""

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from mosaic.builds import WORKTREE, build_env, service_folder, service_venv, short
from mosaic.errors import MosaicError
from mosaic.plan import ProcessPlan, process_env
from mosaic.ports import free_port
from mosaic.services import Service, load_service
from mosaic.supervisor import State, Supervised
from mosaic.upgrade_checks import incompatibilities

if TYPE_CHECKING:
    from mosaic.stack import Stack


class Upgrades:
    def __init__(self, stack: "Stack") -> None:
        self.stack = stack

    async def handle(self, request: dict[str, Any]) -> Any:
        op = request["op"]
        if op == "replicas":
            return [self._described(p) for p in self._of(self._service(request))]
        if op == "builds":
            return self.stack.builds[self._service(request)]
        if op == "release":
            service, build = self._service(request), _build(request)
            candidate = self._candidate(service, build)
            if candidate.release is not None:  # a service without one (frontend) has none to run
                await self.stack.release(candidate, self._env(service, build))
            return None
        if op == "start":
            service, build = self._service(request), _build(request)
            return await self._start(service, str(request.get("kind")), build)
        if op == "retire":
            await self._retire(str(request.get("name")))
            return None
        if op == "record":
            self._record(self._service(request), _build(request))
            return None
        raise MosaicError(f"unknown request {op!r}", "Use the same version of mosaic as `up`.")

    def _service(self, request: dict[str, Any]) -> str:
        service = request.get("service")
        if service not in self.stack.services:
            raise MosaicError(
                f"this stack runs no service {service!r}",
                f"Services here: {', '.join(sorted(self.stack.services))}.",
            )
        assert isinstance(service, str)
        return service

    def _of(self, service: str) -> list[Supervised]:
        return [p for p in self.stack.processes if p.identity.service == service]

    @staticmethod
    def _described(process: Supervised) -> dict[str, Any]:
        identity = process.identity
        return {"name": identity.name, "kind": identity.process, "build": identity.build}

    def _candidate(self, service: str, build: str) -> Service:
        """The service as `build` declares it, if it can take the running one's place."""
        running = self.stack.services[service]
        if build == WORKTREE:
            return running
        home = self.stack.options.home
        if not (service_venv(home, build, service) / ".built").exists():
            raise MosaicError(
                f"{short(build)} is not built for {service} under {home}",
                "`mosaic upgrade` builds it before asking the runner.",
            )
        candidate = load_service(service_folder(home, build, service))
        if problems := incompatibilities(running, candidate, set(self.stack.services)):
            raise MosaicError(
                f"{service} at {short(build)} cannot replace the running one in place: "
                + "; ".join(problems),
                "Stop the shop and run `mosaic up` on that revision instead.",
            )
        return candidate

    def _env(self, service: str, build: str) -> dict[str, str]:
        """The service's environment, with the build's virtualenv instead of the runner's."""
        return build_env(self.stack.service_envs[service], self.stack.options.home, build, service)

    async def _start(self, service: str, kind: str, build: str) -> dict[str, Any]:
        candidate = self._candidate(service, build)
        mine = self._of(service)
        if kind not in candidate.processes:
            raise MosaicError(f"{service} has no process type {kind!r}")
        port = next((p.identity.port for p in mine if p.identity.port is not None), None)
        if port is None:  # every replica gone: cannot happen while `retire` keeps one
            raise MosaicError(f"{service} runs no replica to take the port of")
        replica = 1 + max(
            (p.identity.replica for p in mine if p.identity.process == kind), default=0
        )
        plan = ProcessPlan(candidate, kind, replica, port, free_port())
        self.stack.logs.note(f"starting {plan.name} ({short(build)}) for an upgrade")
        started = self.stack.supervise(plan, process_env(self._env(service, build), plan), build)
        timeout = self.stack.options.ready_timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(started.settled.wait(), timeout)
        if started.state != State.READY:
            await self._drop(started)
            raise MosaicError(
                f"{plan.name} ({short(build)}) did not become ready within {timeout:.0f} s; "
                "it is stopped again, the old replicas still serve. Its last output:",
                "Fix the revision, or go on with the old one as it is.",
                output="\n".join(started.tail) or "(no output)",
            )
        return self._described(started)

    async def _retire(self, name: str) -> None:
        process = next((p for p in self.stack.processes if p.identity.name == name), None)
        if process is None or process.identity.build is None:
            raise MosaicError(f"no replica {name!r} runs here", "`mosaic status` lists them.")
        identity, build = process.identity, process.identity.build
        others = [
            p
            for p in self._of(identity.service)
            if p is not process and p.identity.process == identity.process
        ]
        if not any(p.state == State.READY for p in others):
            raise MosaicError(
                f"{name} is the last ready {identity.process} of {identity.service}: not "
                "stopped (start its successor first)"
            )
        self.stack.logs.note(f"draining and stopping {name} ({short(build)})")
        await self._drop(process)

    async def _drop(self, process: Supervised) -> None:
        """Stop it for good (a stopped Supervised never restarts), then forget it."""
        await process.stop()
        if process in self.stack.processes:
            self.stack.processes.remove(process)
        self.stack.save_state()

    def _record(self, service: str, build: str) -> None:
        builds = self.stack.builds[service]
        if builds["current"] != build:
            builds.update(previous=builds["current"], current=build)
        self.stack.save_state()
        self.stack.logs.note(f"{service} runs {short(build)} now")


def _build(request: dict[str, Any]) -> str:
    build = request.get("build")
    if not isinstance(build, str) or not (
        build == WORKTREE or (len(build) == 40 and all(c in "0123456789abcdef" for c in build))
    ):
        raise MosaicError(f"bad build {build!r}: {WORKTREE!r} or a commit's full sha")
    return build
