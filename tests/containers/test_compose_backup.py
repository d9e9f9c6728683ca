"""Backups and restores of the shop under compose, by the commands docs/operations.md gives
("Backups and restores", "Under compose"): a backup now through the daily backup's own
container, checked with verify-backup; then the restore drill: the data changed after the
backup, every container stopped but the servers, the restore through the provisioning
container, the shop started again, and a second backup whose every table (rows and MD5)
equals the first's.

The tests of this module run in order, on the stage's one deployment (conftest.py), after
those of test_compose.py but its last, which removes it.
"""

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from mosaic_testing import wait_until

from tests.containers.compose_shop import Shop

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]

ADMIN = [
    *("--postgres-admin-url-file", "/run/mosaic/admin/postgres-admin-url"),
    *("--valkey-admin-url-file", "/run/mosaic/admin/valkey-admin-url"),
]
# Written by the shop's own jobs while it runs (orders.recover every 30 s): not the data a
# restore is checked by.
JOB_TABLES = {"job_runs", "job_run_totals"}
MARKER = "CREATE TABLE drill_marker (id int)"  # made after the backup: a restore drops it


def call(shop: Shop, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`./mosaic deploy compose call --project P ARGS` on the shop's home."""
    return shop.mosaic("call", *args, timeout=timeout)


def backup_now(shop: Shop) -> str:
    """A backup through the backup container; its folder's name under /backups."""
    done = call(shop, "run", "--rm", "backup", "mosaic", "admin", "backup-job", *ADMIN,
                "--to", "/backups")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"into /backups/(\S+)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    return found[1]


def manifest(shop: Shop, folder: str) -> dict[str, object]:
    read = "import sys; print(open(sys.argv[1]).read())"
    done = call(shop, "run", "--rm", "backup", "python", "-c", read,
                f"/backups/{folder}/manifest.json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout[done.stdout.index("{") :]
    found: dict[str, object] = json.loads(text)
    return found


def tables(found: dict[str, object]) -> dict[str, object]:
    services = found["services"]
    assert isinstance(services, dict)
    return {
        f"{name}.{table}": facts
        for name, service in services.items()
        for table, facts in service["tables"].items()
        if table.rsplit(".", 1)[-1] not in JOB_TABLES  # "public.job_runs"
    }


def in_database(shop: Shop, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import asyncio, sys, asyncpg\n"
        "async def main():\n"
        "    url = open('/run/mosaic/admin/postgres-admin-url').read().strip()\n"
        "    url = url.rsplit('/', 1)[0] + '/' + sys.argv[1]\n"
        "    c = await asyncpg.connect(url)\n"
        "    await c.execute(sys.argv[2])\n"
        "    await c.close()\n"
        "asyncio.run(main())\n"
    )
    return call(shop, "run", "--rm", "backup", "python", "-c", script, database, sql)


state: dict[str, str] = {}


def test_a_backup_now_through_the_backup_container_verifies(shop: Shop) -> None:
    folder = backup_now(shop)
    state["folder"] = folder
    checked = call(shop, "run", "--rm", "backup", "mosaic", "admin", "verify-backup",
                   f"/backups/{folder}")  # fmt: skip
    assert checked.returncode == 0 and "good" in checked.stdout, checked.stdout + checked.stderr


def test_the_restore_drill_brings_back_every_table(shop: Shop) -> None:
    folder = state["folder"]
    before = tables(manifest(shop, folder))
    assert before, "the backup holds no table"
    changed = in_database(shop, "orders", MARKER)
    assert changed.returncode == 0, changed.stderr

    stopped = call(shop, "stop")
    assert stopped.returncode == 0, stopped.stderr
    started = call(shop, "start", "postgres", "valkey")
    assert started.returncode == 0, started.stderr
    backups = Path(shop.home) / "compose" / "backups"
    restored = call(shop, "run", "--rm", "-v", f"{backups}:/backups:ro", "provision",
                    "mosaic", "admin", "restore", "--force", "--from", f"/backups/{folder}",
                    *ADMIN, "--passwords-file", "/out/secrets.json")  # fmt: skip
    assert restored.returncode == 0, restored.stdout + restored.stderr

    port, mail = shop.url.rsplit(":", 1)[1], shop.mailbox.rsplit(":", 1)[1]
    up = shop.mosaic("up", "--port", port, "--mail-port", mail)
    assert up.returncode == 0, up.stdout + up.stderr

    def serves() -> bool:
        answer = httpx.get(f"{shop.url}/search", params={"q": "mug"}, timeout=10)
        return answer.status_code == 200 and "/product/" in answer.text

    wait_until(serves, 120, "search results from the restored shop")
    after = tables(manifest(shop, backup_now(shop)))
    assert not [t for t in after if t.endswith("drill_marker")]  # made after the backup
    assert after == before
