"""`mosaic logs --compose`: the same filters and output over a compose project's containers,
read from the container engine (`podman|docker logs --timestamps`), since in containers
the engine, not the runner, keeps each process's output.

Each container's lines come with the engine's timestamp (RFC 3339, nanoseconds, UTC), so
a line that is not JSON gets the same wrapping as in the runner's files, stamped with the
time the engine read it. The merge and the filters are `mosaic.log_reading`'s.
"""

from __future__ import annotations

import contextlib
import heapq
import queue
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mosaic.containers import WEB
from mosaic.deploy_compose import ComposeDeployment
from mosaic.engine import Engine
from mosaic.errors import MosaicError
from mosaic.log_files import is_json, wrap
from mosaic.log_reading import Entry, LogFilter, check_services, parse_entry
from mosaic.log_view import Printer

FOLLOW_OVERLAP = timedelta(seconds=2)


def container_process(container: str, project: str, services: Iterable[str]) -> str:
    """The process a container runs, named as under `mosaic up`: `mosaic_orders-relay_1`
    (podman-compose) or `mosaic-orders-relay-1` (docker compose) -> `orders.relay.1`,
    `mosaic_catalog_2` -> `catalog.web.2`; a backing container keeps its compose name."""
    rest = container
    for separator in ("_", "-"):
        rest = rest.removeprefix(f"{project}{separator}")
    numbered = re.fullmatch(r"(.+?)[_-](\d+)", rest)
    name, replica = (numbered[1], numbered[2]) if numbered else (rest, "1")
    service, _, kind = name.partition("-")
    if service not in set(services):
        return name  # postgres, valkey, mailbox, provision
    return f"{service}.{kind or WEB}.{replica}"


def engine_entry(process: str, raw: str) -> Entry | None:
    """One line of `logs --timestamps`; None for what is not one (an engine's warning)."""
    stamp, _, text = raw.rstrip("\r\n").partition(" ")
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if not is_json(text):
        text = wrap(process, text, when.timestamp())
    return parse_entry(process, text, when)


def read_container(engine: Engine, container: str, process: str, keep: LogFilter) -> list[Entry]:
    since = ["--since", keep.since.isoformat()] if keep.since is not None else []
    done = engine.run("logs", "--timestamps", *since, container, capture=True, check=False)
    # The container's stderr comes on the engine's stderr: both, put back in order by time.
    lines = done.stdout.splitlines() + done.stderr.splitlines()
    entries = (engine_entry(process, raw) for raw in lines if keep.may_hold(raw))
    return sorted((e for e in entries if e is not None and keep.keeps(e)), key=_when)


def read_project(engine: Engine, containers: dict[str, str], keep: LogFilter) -> Iterator[Entry]:
    """Every kept entry of the containers (name -> process), oldest first."""
    streams = [read_container(engine, name, process, keep) for name, process in containers.items()]
    return heapq.merge(*streams, key=_when)


class Seen:
    """The newest entries printed per process, so that following from a moment before the
    history ended prints none of them twice (the engine's `--since` is not exact)."""

    def __init__(self) -> None:
        self.newest: dict[str, tuple[datetime, set[str]]] = {}

    def note(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        for entry in entries:
            when, lines = self.newest.get(entry.process, (entry.when, set()))
            if entry.when > when:
                when, lines = entry.when, set()
            self.newest[entry.process] = (when, lines | {entry.line})
            yield entry

    def is_new(self, entry: Entry) -> bool:
        when, lines = self.newest.get(entry.process, (entry.when, set()))
        return entry.when > when or (entry.when == when and entry.line not in lines)


def follow_project(
    engine: Engine,
    containers: dict[str, str],
    keep: LogFilter,
    printer: Printer,
    since: str,
    seen: Seen,
) -> None:
    """Print each new kept line as the engine gives it, until Ctrl-C (each container's
    in order; across containers as they come)."""
    arrived: queue.Queue[tuple[str, str]] = queue.Queue()
    followers: list[tuple[subprocess.Popen[str], threading.Thread]] = []
    for name, process in containers.items():
        follower = subprocess.Popen(
            engine.command("logs", "--timestamps", "--follow", "--since", since, name),
            env=engine.environ(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        relay = threading.Thread(target=_relay, args=(follower, process, arrived), daemon=True)
        relay.start()
        followers.append((follower, relay))
    try:
        while True:
            with contextlib.suppress(queue.Empty):
                process, raw = arrived.get(timeout=0.5)
                entry = engine_entry(process, raw)
                if entry is not None and keep.keeps(entry) and seen.is_new(entry):
                    printer.print([entry])
    finally:
        for follower, relay in followers:
            follower.terminate()
            follower.wait()
            relay.join(5)  # the pipe ended with the engine's process
            assert follower.stdout is not None
            follower.stdout.close()


def _relay(follower: subprocess.Popen[str], process: str, to: queue.Queue[tuple[str, str]]) -> None:
    assert follower.stdout is not None
    for raw in follower.stdout:
        to.put((process, raw))


def show_compose_logs(
    deployment: ComposeDeployment,
    services: Sequence[str],
    keep: LogFilter,
    *,
    as_json: bool,
    follow: bool,
) -> None:
    """`mosaic logs --compose`: the project's containers' lines, as `show_logs` prints the
    runner's; with `follow`, then each new one until Ctrl-C."""
    names = deployment.project_containers()
    if not names:
        raise MosaicError(
            f"no container of compose project {deployment.project!r} exists",
            "Start the shop with `mosaic deploy compose up` (or name its --project).",
        )
    shop = [service.name for service in deployment.services()]
    containers = {name: container_process(name, deployment.project, shop) for name in names}
    known = {*shop, *(process.split(".", 1)[0] for process in containers.values())}
    keep = replace(keep, services=check_services(services, known))
    printer = Printer(as_json, containers.values())
    # Following starts a little before the history is read: no line can fall between the
    # two, and Seen drops what both give.
    since, seen = (datetime.now(UTC) - FOLLOW_OVERLAP).isoformat(), Seen()
    printer.print(seen.note(read_project(deployment.engine, containers, keep)))
    if follow:
        follow_project(deployment.engine, containers, keep, printer, since, seen)


def _when(entry: Entry) -> datetime:
    return entry.when
