"""`mosaic upgrade`'s parts apart from a running shop: the control channel (a unix socket
only the runner's user reaches), the runner's refusals, which revisions may replace a
running service in place, and the refusals of the command itself."""

import asyncio
import dataclasses
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mosaic import control
from mosaic.builds import (
    WORKTREE,
    build,
    forgotten_builds,
    resolve,
    service_folder,
    service_venv,
)
from mosaic.children import Command
from mosaic.errors import MosaicError
from mosaic.home import services_dir, workspace_root
from mosaic.logs import LogStream
from mosaic.services import Service, load_service
from mosaic.state import UpLock, write_state
from mosaic.supervisor import Identity, State, Supervised
from mosaic.upgrade import upgrade
from mosaic.upgrade_checks import incompatibilities
from mosaic.upgrade_runner import Upgrades


async def test_the_channel_answers_results_and_errors(tmp_path: Path) -> None:
    async def handle(request: dict[str, Any]) -> Any:
        if request["op"] == "fail":
            raise MosaicError("no such thing", "do this instead", output="last lines")
        return {"echo": request}

    server = await control.serve_control(tmp_path, handle)
    try:
        answer = await control.call(tmp_path, "echo", service="catalog")
        assert answer == {"echo": {"op": "echo", "service": "catalog"}}
        with pytest.raises(MosaicError) as failed:
            await control.call(tmp_path, "fail")
        assert (failed.value.message, failed.value.hint) == ("no such thing", "do this instead")
        assert failed.value.output == "last lines"
        folder = control.socket_path(tmp_path).parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # the runner's user only
        reader, writer = await asyncio.open_unix_connection(control.socket_path(tmp_path))
        writer.write(b"not json\n")
        assert b"bad request" in await reader.readline()
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_a_home_without_a_runner_has_no_channel(tmp_path: Path) -> None:
    with pytest.raises(MosaicError, match="has no control channel"):
        await control.call(tmp_path, "replicas", service="catalog")


def shop_service(name: str) -> Service:
    return load_service(services_dir() / name)


def test_the_same_service_data_may_replace_the_running_one() -> None:
    orders = shop_service("orders")
    everything = {"cart", "catalog", "currency", "payments", "shipping", "orders"}
    assert incompatibilities(orders, orders, everything) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"backing": frozenset({"postgres"})}, "backing services change"),
        ({"calls": ("cart", "catalog", "currency", "payments", "shipping", "mail")}, "mail"),
        ({"processes": {"web": "python -m orders"}}, "process types change"),
        ({"edge": True}, "edge"),
    ],
)
def test_a_revision_that_changes_what_up_wires_is_refused(
    change: dict[str, Any], complaint: str
) -> None:
    orders = shop_service("orders")
    everything = {"cart", "catalog", "currency", "payments", "shipping", "orders"}
    problems = incompatibilities(orders, dataclasses.replace(orders, **change), everything)
    assert len(problems) >= 1 and complaint in " ".join(problems), problems


def test_an_unknown_revision_is_refused() -> None:
    with pytest.raises(MosaicError, match="names no commit"):
        resolve(workspace_root(), "no-such-branch-anywhere")
    with pytest.raises(MosaicError, match="is not a git revision"):
        resolve(workspace_root(), "--all")
    assert len(resolve(workspace_root(), "HEAD")) == 40


class FakeStack:
    """What mosaic.upgrade_runner reads of a Stack, with catalog's processes not started."""

    def __init__(self, home: Path, states: list[State]) -> None:
        self.options = dataclasses.make_dataclass("O", [("home", Path), ("ready_timeout", float)])(
            home, 5.0
        )
        self.services = {"catalog": shop_service("catalog")}
        self.builds: dict[str, dict[str, str | None]] = {
            "catalog": {"current": WORKTREE, "previous": None}
        }
        self.logs = LogStream()
        self.processes = [self._process(n, s) for n, s in enumerate(states, start=1)]
        self.saved = 0

    def _process(self, replica: int, state: State) -> Supervised:
        identity = Identity(f"catalog.web.{replica}", "catalog", "web", replica, 1, 2, WORKTREE)
        supervised = Supervised(
            identity, Command(["true"]), probe=_never, logs=self.logs, on_change=lambda: None
        )
        supervised.state = state
        return supervised

    def save_state(self) -> None:
        self.saved += 1


async def _never() -> bool:
    return False


async def test_the_runner_never_stops_the_last_ready_replica_of_a_type(tmp_path: Path) -> None:
    stack = FakeStack(tmp_path, [State.READY, State.STARTING])
    upgrades = Upgrades(stack)  # type: ignore[arg-type]
    with pytest.raises(MosaicError, match="last ready web of catalog"):
        await upgrades.handle({"op": "retire", "name": "catalog.web.1"})
    assert len(stack.processes) == 2

    await upgrades.handle({"op": "retire", "name": "catalog.web.2"})  # one ready one stays
    assert [p.identity.name for p in stack.processes] == ["catalog.web.1"]


async def test_the_runner_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    upgrades = Upgrades(FakeStack(tmp_path, [State.READY]))  # type: ignore[arg-type]
    refusals = {
        "this stack runs no service 'nope'": {"op": "replicas", "service": "nope"},
        "bad build": {"op": "start", "service": "catalog", "kind": "web", "build": "HEAD"},
        "is not built for catalog": {"op": "release", "service": "catalog", "build": "b" * 40},
        "no replica 'catalog.web.9'": {"op": "retire", "name": "catalog.web.9"},
        "unknown request": {"op": "explode"},
    }
    for message, request in refusals.items():
        with pytest.raises(MosaicError, match=message):
            await upgrades.handle(request)


async def test_a_service_without_a_release_phase_has_none_to_run(tmp_path: Path) -> None:
    stack = FakeStack(tmp_path, [State.READY])
    stack.services = {"frontend": shop_service("frontend")}  # no `release:` in its Procfile
    assert stack.services["frontend"].release is None
    upgrades = Upgrades(stack)  # type: ignore[arg-type]
    assert (
        await upgrades.handle({"op": "release", "service": "frontend", "build": WORKTREE}) is None
    )


async def test_recording_a_build_keeps_the_one_before(tmp_path: Path) -> None:
    stack = FakeStack(tmp_path, [State.READY])
    upgrades = Upgrades(stack)  # type: ignore[arg-type]
    await upgrades.handle({"op": "record", "service": "catalog", "build": "c" * 40})
    await upgrades.handle({"op": "record", "service": "catalog", "build": "c" * 40})
    assert stack.builds["catalog"] == {"current": "c" * 40, "previous": WORKTREE}


async def test_the_command_refuses_a_home_where_nothing_runs(tmp_path: Path) -> None:
    with pytest.raises(MosaicError, match="not running") as refused:
        await upgrade(tmp_path, workspace_root(), "catalog", "HEAD", lambda _: None)
    assert "mosaic up" in refused.value.hint


def test_the_command_line_asks_for_one_of_to_and_rollback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mosaic", "upgrade", "catalog"],
        capture_output=True,
        text=True,
        env={"MOSAIC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "give either --to REF or --rollback" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("state", "refusal"),
    [
        ({"mode": "in-process", "control": "x"}, "runs every service in one process"),
        ({"mode": "processes", "control": None}, "is not ready yet"),
    ],
)
async def test_the_command_refuses_a_runner_it_cannot_upgrade(
    tmp_path: Path, state: dict[str, Any], refusal: str
) -> None:
    lock = UpLock(tmp_path)
    lock.acquire()  # as a running `mosaic up` holds it
    try:
        write_state(tmp_path, state)
        with pytest.raises(MosaicError, match=refusal):
            await upgrade(tmp_path, workspace_root(), "catalog", "HEAD", lambda _: None)
    finally:
        lock.release()


def test_a_revision_without_the_service_is_refused(tmp_path: Path) -> None:
    head = resolve(workspace_root(), "HEAD")
    with pytest.raises(MosaicError, match=f"{head[:12]} has no service nope"):
        build(tmp_path, workspace_root(), head, "nope", lambda _: None)
    assert (tmp_path / "builds" / head / "services" / "catalog" / "Procfile").exists()


async def test_the_runner_refuses_a_build_whose_service_data_changed(tmp_path: Path) -> None:
    sha = "d" * 40
    folder = service_folder(tmp_path, sha, "catalog")
    folder.mkdir(parents=True)
    shutil.copy(services_dir() / "catalog" / "Procfile", folder / "Procfile")
    pyproject = (services_dir() / "catalog" / "pyproject.toml").read_text()
    changed = pyproject.replace('backing = ["postgres", "valkey"]', 'backing = ["postgres"]')
    assert changed != pyproject
    (folder / "pyproject.toml").write_text(changed)
    service_venv(tmp_path, sha, "catalog").mkdir(parents=True)
    (service_venv(tmp_path, sha, "catalog") / ".built").touch()

    upgrades = Upgrades(FakeStack(tmp_path, [State.READY]))  # type: ignore[arg-type]
    with pytest.raises(MosaicError, match="cannot replace the running one in place") as refused:
        await upgrades.handle({"op": "release", "service": "catalog", "build": sha})
    assert "backing services change" in refused.value.message
    assert "mosaic up" in refused.value.hint


def test_a_new_start_says_which_upgrades_it_leaves_behind() -> None:
    state = {"builds": {"catalog": {"current": "e" * 40}, "orders": {"current": WORKTREE}}}
    said = forgotten_builds(state)
    assert said is not None and f"catalog {'e' * 12}" in said and "orders" not in said
    assert "working tree" in said
    assert forgotten_builds({"builds": {"orders": {"current": WORKTREE}}}) is None
    assert forgotten_builds(None) is None
