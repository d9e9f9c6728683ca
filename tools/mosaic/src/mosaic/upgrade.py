"""`mosaic upgrade SERVICE --to REF` and `--rollback`: a rolling upgrade of one service of
the running `mosaic up`, in the order of mosaic.rollout, through the runner's control
channel (mosaic.control); the build is made here first (mosaic.builds)."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mosaic import control
from mosaic.builds import build, resolve, short
from mosaic.errors import MosaicError
from mosaic.rollout import Builds, Replica, roll, rollback_target
from mosaic.state import read_state, runner_pid


class RunnerReplicas:
    """mosaic.rollout's Replicas, answered by the `mosaic up` running on `home`."""

    def __init__(self, home: Path) -> None:
        self.home = home

    async def replicas(self, service: str) -> list[Replica]:
        found: list[dict[str, Any]] = await control.call(self.home, "replicas", service=service)
        return [Replica(r["name"], r["kind"], r["build"]) for r in found]

    async def builds(self, service: str) -> Builds:
        found = await control.call(self.home, "builds", service=service)
        return Builds(found["current"], found.get("previous"))

    async def release(self, service: str, build: str) -> None:
        await control.call(self.home, "release", service=service, build=build)

    async def start(self, service: str, kind: str, build: str) -> Replica:
        r = await control.call(self.home, "start", service=service, kind=kind, build=build)
        return Replica(r["name"], r["kind"], r["build"])

    async def retire(self, name: str) -> None:
        await control.call(self.home, "retire", name=name)

    async def record(self, service: str, build: str) -> None:
        await control.call(self.home, "record", service=service, build=build)


async def upgrade(
    home: Path,
    repo: Path,
    service: str,
    ref: str | None,
    note: Callable[[str], None],
) -> str:
    """Roll `service` to the commit `ref` names (None: back, `--rollback`); the build."""
    pid, state = runner_pid(home), read_state(home)
    if pid is None or state is None:
        raise MosaicError(
            f"Mosaic is not running on {home}: there is nothing to upgrade",
            "Start it with `mosaic up` (same MOSAIC_HOME), then upgrade.",
        )
    if state.get("mode") == "in-process":
        raise MosaicError(
            "this mosaic up runs every service in one process (--in-process): it has no "
            "replicas to replace",
            "Run `mosaic up` without --in-process to upgrade one service at a time.",
        )
    if not state.get("control"):
        raise MosaicError(
            f"the mosaic up on {home} is not ready yet (or stopping)",
            "Wait for `Mosaic is ready` (`mosaic status`), then try again.",
        )
    replicas = RunnerReplicas(home)
    began = time.monotonic()
    if ref is None:
        target = rollback_target(
            service, await replicas.builds(service), await replicas.replicas(service)
        )
        note(f"rolling {service} back to {short(target)}")
    else:
        await replicas.builds(service)  # an unknown service is refused before building
        target = resolve(repo, ref)
        build(home, repo, target, service, note)
    replaced = await roll(replicas, service, target, note)
    took = time.monotonic() - began
    if replaced:
        note(f"{service} runs {short(target)}: {replaced} replicas replaced in {took:.1f} s")
    else:
        note(f"{service} already runs {short(target)}: nothing to replace")
    return target
