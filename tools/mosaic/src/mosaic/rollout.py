"""The order of a rolling upgrade, apart from how replicas are started and stopped: the new
build's release (migrations) first, then each replica of the old build replaced one at a
time, its successor started and ready before it is drained and stopped. So at no moment
does a process type run fewer ready replicas than before (Kubernetes' maxUnavailable 0,
maxSurge 1), and a successor that never becomes ready stops the upgrade with the old
replicas still serving.

The runner does the starting and stopping (`Replicas`, over its control channel:
mosaic.control); a test gives a fake.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mosaic.builds import short
from mosaic.errors import MosaicError


@dataclass(frozen=True)
class Replica:
    name: str  # catalog.web.3
    kind: str  # its Procfile process type
    build: str  # mosaic.builds.WORKTREE or a commit's sha


@dataclass(frozen=True)
class Builds:
    """What a service ran, as the runner recorded it: `current` once every replica ran it,
    and the one before."""

    current: str
    previous: str | None = None


class Replicas(Protocol):
    async def replicas(self, service: str) -> list[Replica]:
        """Every running replica of the service, of every process type."""
        ...

    async def builds(self, service: str) -> Builds: ...

    async def release(self, service: str, build: str) -> None:
        """Run the build's release process (its migrations) to completion."""
        ...

    async def start(self, service: str, kind: str, build: str) -> Replica:
        """Start one more replica of `kind` from `build`; return once it is ready (raise
        MosaicError, with it stopped again, when it is not)."""
        ...

    async def retire(self, name: str) -> None:
        """Drain and stop the replica; it is not restarted, and no longer listed."""
        ...

    async def record(self, service: str, build: str) -> None:
        """Every replica of the service runs `build` now."""
        ...


async def roll(replicas: Replicas, service: str, build: str, note: Callable[[str], None]) -> int:
    """Replace every replica of `service` not of `build` by one of `build`; how many."""
    old = [r for r in await replicas.replicas(service) if r.build != build]
    if old:
        note(f"releasing {service} {short(build)}: its release process (migrations)")
        await replicas.release(service, build)
    for number, replica in enumerate(old, start=1):
        note(
            f"replacing replica {number}/{len(old)}: {replica.name} ({short(replica.build)}); "
            f"starting a {replica.kind} of {short(build)}"
        )
        successor = await replicas.start(service, replica.kind, build)
        note(f"{successor.name} is ready; draining and stopping {replica.name}")
        await replicas.retire(replica.name)
    await replicas.record(service, build)
    return len(old)


def rollback_target(service: str, builds: Builds, running: list[Replica]) -> str:
    """Where `--rollback` goes: back to the last build every replica ran when an upgrade
    stopped half-way, else to the build before the current one."""
    if any(r.build != builds.current for r in running):
        return builds.current
    if builds.previous is None:
        raise MosaicError(
            f"{service} has run one build only ({short(builds.current)}) since `mosaic up` "
            "started: there is nothing to roll back to",
            f"Upgrade it first: `mosaic upgrade {service} --to REF`.",
        )
    return builds.previous
