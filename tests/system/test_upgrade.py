"""Rolling upgrades under load (`mosaic upgrade`), on a real `mosaic up` with two catalog
and two orders web replicas: catalog to a second revision (a commit in a clone of this
repository whose only change is catalog's version), orders to this commit built apart,
then each rolled back, every step while the load generator browses and checks out.

After each step: the load generator saw no failure; `mosaic status` lists no process of
the service from the build it left, and every process of that build is gone, after
draining (its last log line, which a SIGKILL never writes); at the end
every order the load generator placed is in orders' database exactly once, confirmed.
(Kept by the runner's successor-first order, the chassis' drain on SIGTERM and the
client's retry of a repeatable call on a fresh connection: docs/operations.md, "Upgrades".)
"""

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import UpProcess, mosaic, process_environment, wait_until
from mosaic_testing.load_runs import LoadRuns
from mosaic_testing.processes import gone

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
SECOND_VERSION = "0.1.1+upgrade"
LOAD_SECONDS = 600  # the longest a step may take; each load's window is ended after its step


def second_revision(folder: Path) -> tuple[Path, str]:
    """A clone of this repository with one more commit: catalog's version changed."""
    clone = folder / "clone"
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "clone", "--quiet", "--shared", str(ROOT), str(clone)], check=True)
    pyproject = clone / "services" / "catalog" / "pyproject.toml"
    text = pyproject.read_text()
    assert '\nversion = "0.1.0"\n' in text
    pyproject.write_text(text.replace('\nversion = "0.1.0"\n', f'\nversion = "{SECOND_VERSION}"\n'))
    subprocess.run([*git, "-C", str(clone), "commit", "--quiet", "-am", "catalog"], check=True)
    sha = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return clone, sha


# Browsing in a closed loop; checkouts in an open loop (two a second), which makes no
# action outside the measured window: each order placed is a counted checkout.
FLOWS = {"browse": ["--users", "3"], "checkout": ["--users", "3", "--rate", "2"]}


def replicas(up: UpProcess, service: str) -> list[dict[str, Any]]:
    return [p for p in up.status()["processes"] if p.get("service") == service]


def drained(up: UpProcess, name: str) -> bool:
    """The process logged the chassis' last line: it stopped on SIGTERM, after draining."""
    logged = mosaic("logs", name, "--json", env=up.env).stdout.splitlines()
    return any(json.loads(line).get("event") == "stopped" for line in logged if line[:1] == "{")


def orders_by_step(database_url: str) -> dict[str, int]:
    async def count() -> dict[str, int]:
        connection = await asyncpg.connect(database_url)
        try:
            rows = await connection.fetch("SELECT step, count(*) AS n FROM orders GROUP BY step")
            keys = await connection.fetchval(
                "SELECT count(*) - count(DISTINCT key_hash) FROM orders WHERE key_hash IS NOT NULL"
            )
        finally:
            await connection.close()
        assert keys == 0, "two orders for one idempotency key"
        return {row["step"]: row["n"] for row in rows}

    return asyncio.run(count())


@pytest.mark.timeout(720)
def test_rolling_upgrades_and_rollbacks_under_load(tmp_path: Path) -> None:
    clone, second = second_revision(tmp_path)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    home, port = tmp_path / "home", free_port()
    scale = ("--scale", "catalog=2", "--scale", "orders.web=2")
    with UpProcess(home, port, *scale) as up:
        shop = up.wait_ready(timeout=180)
        mailbox = str(up.status()["mailbox"])
        database_url = process_environment(replicas(up, "orders")[0]["pid"])["DATABASE_URL"]
        checkouts = 0
        steps = [
            ("catalog", ["--to", second, "--repo", str(clone)], "worktree", second),
            ("orders", ["--to", "HEAD"], "worktree", head),
            ("catalog", ["--rollback"], second, "worktree"),
            ("orders", ["--rollback"], head, "worktree"),
        ]
        for number, (service, how, old, new) in enumerate(steps, start=1):
            before = replicas(up, service)
            assert {p["build"] for p in before} == {old}
            step = f"step {number}: {service} {' '.join(how)}"
            with LoadRuns(shop, mailbox, tmp_path / f"load-{number}", seconds=LOAD_SECONDS,
                          seed=number, flows=FLOWS) as load:  # fmt: skip
                upgraded = mosaic("upgrade", service, *how, env=up.env, timeout=240)
                assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
                results = load.finish(checks_done=time.time())
            checkouts += results["checkout"]["flows"]["checkout"]["requests"]
            assert "replacing replica 1/" in upgraded.stdout, upgraded.stdout
            after = replicas(up, service)
            assert {p["build"] for p in after} == {new}, (step, after)
            assert len(after) == len(before) and all(p["state"] == "ready" for p in after)
            old_pids = [p["pid"] for p in before]
            wait_until(lambda: all(map(gone, old_pids)), 30, f"{step}: old processes gone")  # noqa: B023
            for name in (p["name"] for p in before):  # each drained: a SIGKILL logs nothing
                wait_until(lambda: drained(up, name), 10, f"{step}: {name} logged its stop")  # noqa: B023
            if service == "catalog":
                version = SECOND_VERSION if new == second else "0.1.0"
                for p in after:
                    health = httpx.get(f"http://127.0.0.1:{p['ops_port']}/healthz", timeout=5)
                    assert health.json()["version"] == version, step

        refused = mosaic("upgrade", "catalog", "--to", "no-such-revision", env=up.env)
        assert refused.returncode == 1 and "names no commit" in refused.stderr

        assert checkouts > 0
        steps_seen = orders_by_step(database_url)
        # Open loop without warm-up: every checkout made is a counted one, so the orders
        # are exactly those, each once (no key twice), each at its end: confirmed.
        assert steps_seen == {"confirmed": checkouts}, steps_seen
