"""`mosaic logs --compose`: containers named as processes, the engine's timestamped lines
read as the runner's files are, and one real container of a labelled project read through
the real engine with the same filters."""

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from mosaic.compose_logs import container_process, engine_entry
from mosaic.engine import Engine, find_engine
from mosaic.errors import MosaicError
from mosaic.home import workspace_root
from mosaic_testing import mosaic, wait_until

SHOP = ["orders", "catalog", "frontend"]
TOOLS_IMAGE = "localhost/mosaic/tools:dev"


@pytest.mark.parametrize(
    ("container", "process"),
    [
        ("mosaic_orders-relay_1", "orders.relay.1"),  # podman-compose
        ("mosaic-orders-relay-1", "orders.relay.1"),  # docker compose
        ("mosaic_catalog_2", "catalog.web.2"),
        ("mosaic_orders-release_1", "orders.release.1"),
        ("mosaic_postgres_1", "postgres"),
        ("shop2-frontend-1", "frontend.web.1"),
    ],
)
def test_a_container_is_named_as_its_process(container: str, process: str) -> None:
    project = container.split("_")[0] if "_" in container else container.split("-")[0]
    assert container_process(container, project, SHOP) == process


def test_an_engine_line_keeps_a_json_line_and_its_own_time() -> None:
    line = '{"event": "request", "timestamp": "2026-05-01T12:00:00.000001Z", "level": "info"}'
    entry = engine_entry("orders.web.1", f"2026-05-01T12:00:00.500000000Z {line}\n")
    assert entry is not None
    assert entry.line == line
    assert entry.when == datetime(2026, 5, 1, 12, 0, 0, 1, tzinfo=UTC)


def test_an_engine_line_that_is_not_json_is_wrapped_with_the_engine_s_time() -> None:
    entry = engine_entry("postgres", "2026-05-01T12:00:00.123456789Z LOG:  ready")
    assert entry is not None
    assert json.loads(entry.line) == {
        "timestamp": "2026-05-01T12:00:00.123456Z",
        "level": "unknown",
        "event": "LOG:  ready",
        "service": "postgres",
        "process": "postgres",
    }
    assert engine_entry("postgres", "WARN[0000] an engine's own warning") is None


@pytest.fixture
def engine() -> Engine:
    try:
        found = find_engine(None, workspace_root())
    except MosaicError as error:
        pytest.skip(f"no container engine here: {error.message}")
    if not found.has_image(TOOLS_IMAGE):
        pytest.skip(f"{TOOLS_IMAGE} is not built here (`mosaic images build mosaic`)")
    return found


@pytest.fixture
def project_container(engine: Engine) -> Iterator[tuple[str, str]]:
    """One exited container of a compose project of its own, as compose labels them."""
    project = f"logs{secrets.token_hex(4)}"
    name = f"{project}_orders-relay_1"
    prefix = "io.podman.compose" if engine.name == "podman" else "com.docker.compose"
    trace = secrets.token_hex(16)
    script = (
        f'echo \'{{"event": "relayed", "level": "info", "trace_id": "{trace}", '
        '"timestamp": "2026-05-01T12:00:00.000001Z", "service": "orders"}\'; '
        "echo 'not json, on stderr' >&2"
    )
    engine.run(
        "run", "--name", name, "--label", f"{prefix}.project={project}",
        "--entrypoint", "/bin/sh", TOOLS_IMAGE, "-c", script, capture=True,
    )  # fmt: skip
    try:
        yield project, trace
    finally:
        engine.run("rm", "--force", name, capture=True, check=False)


def test_the_project_s_containers_read_through_the_real_engine(
    project_container: tuple[str, str],
) -> None:
    project, trace = project_container
    env = {**os.environ}
    done = mosaic("logs", "--compose", "--project", project, "--json", "--trace", trace, env=env)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert json.loads(line)["event"] == "relayed"

    done = mosaic("logs", "--compose", "--project", project, "orders.relay", env=env)
    assert done.returncode == 0, done.stderr
    shown = done.stdout.splitlines()
    assert [s.split(" | ")[0].strip() for s in shown] == ["orders.relay.1"] * 2, shown
    assert "relayed" in shown[0] and "unknown not json, on stderr" in shown[1]

    done = mosaic("logs", "--compose", "--project", project, "ordres", env=env)
    assert done.returncode == 2
    assert "unknown service 'ordres': give one of" in done.stderr


@pytest.fixture
def ticking_container(engine: Engine) -> Iterator[str]:
    """A running container of a project of its own, writing a line every 0.2 s."""
    project = f"logs{secrets.token_hex(4)}"
    name = f"{project}_catalog_1"
    prefix = "io.podman.compose" if engine.name == "podman" else "com.docker.compose"
    script = (
        "i=0; while [ $i -lt 60 ]; do i=$((i+1)); "
        'echo "{\\"event\\": \\"tick $i\\", \\"level\\": \\"info\\", '
        '\\"service\\": \\"catalog\\"}"; '
        "sleep 0.2; done"
    )
    engine.run(
        "run", "--detach", "--name", name, "--label", f"{prefix}.project={project}",
        "--entrypoint", "/bin/sh", TOOLS_IMAGE, "-c", script, capture=True,
    )  # fmt: skip
    try:
        yield project
    finally:
        engine.run("rm", "--force", name, capture=True, check=False)


def test_follow_goes_on_from_the_history_without_a_gap_or_a_repeat(
    ticking_container: str,
) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "mosaic", "logs", "--compose", "--project", ticking_container,
         "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    shown: list[str] = []
    reader = threading.Thread(target=lambda: shown.extend(follower.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_until(lambda: len(shown) >= 15, 30, "15 ticks, history and followed")
        follower.send_signal(signal.SIGINT)
        assert follower.wait(10) == 130
        reader.join(10)
        ticks = [json.loads(line)["event"] for line in shown]
        assert ticks == [f"tick {n}" for n in range(1, len(ticks) + 1)]
        assert "Traceback" not in (follower.stderr.read() if follower.stderr else "")
    finally:
        follower.kill()
        follower.wait()
        for pipe in (follower.stdout, follower.stderr):
            if pipe is not None:
                pipe.close()
