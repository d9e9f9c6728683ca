"""`mosaic admin backup` the way a container runs it (compose's `run`, the Kubernetes Job of
deploy/k8s/components/backup): admin URLs from files, an empty $MOSAIC_HOME, real Postgres
and Valkey; and the rendered Job's command is one the command line accepts, with every file
it names mounted."""

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
import yaml
from mosaic import kubernetes_backup
from mosaic.admin import backup_postgres, backup_valkey
from mosaic.admin.backup import stateful
from mosaic.backing.servers import BackingServers
from mosaic.services import Service
from mosaic_testing import mosaic

from tools.mosaic.tests.test_documented_commands import check_runnable


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackingServers]:
    with BackingServers(tmp_path_factory.mktemp("backup-job")) as started:
        yield started


def url_files(folder: Path, servers: BackingServers) -> list[str]:
    folder.mkdir()
    (folder / "postgres-admin-url").write_text(servers.admin_database_url + "\n")
    (folder / "valkey-admin-url").write_text(servers.admin_redis_url + "\n")
    return [
        *("--postgres-admin-url-file", str(folder / "postgres-admin-url")),
        *("--valkey-admin-url-file", str(folder / "valkey-admin-url")),
    ]


def test_a_backup_from_admin_url_files_into_an_empty_home(
    servers: BackingServers, services: list[Service], tmp_path: Path
) -> None:
    for service in stateful(services):
        if "postgres" in service.backing:
            servers.database_url(service.name)  # an empty database, as provisioning leaves it
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path / "home")}
    args = url_files(tmp_path / "admin", servers)
    done = mosaic("admin", "backup", *args, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    [folder] = (tmp_path / "home" / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["services"]) == {s.name for s in stateful(services)}
    assert manifest["tools"]["pg_dump"].startswith("pg_dump (PostgreSQL) 18")
    assert manifest["tools"]["valkey"].startswith("valkey ")
    checked = mosaic("admin", "verify-backup", str(folder), env=env)
    assert checked.returncode == 0, checked.stdout


def test_a_database_that_is_missing_fails_in_one_line_and_leaves_no_manifest(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path / "home")}
    with BackingServers(tmp_path / "servers") as servers:  # no database made on them
        args = url_files(tmp_path / "admin", servers)
        to = ("--service", "shipping", "--to", str(tmp_path / "b"))
        done = mosaic("admin", "backup", *args, *to, env=env, timeout=60)
    assert done.returncode == 1
    assert "mosaic: the backup failed: " in done.stderr, done.stderr
    assert 'database "shipping" does not exist' in done.stderr, done.stderr
    assert done.stderr.count("\n") <= 3 and "Traceback" not in done.stderr, done.stderr
    assert list((tmp_path / "b").iterdir()) == []  # no manifest, no partial file


async def a_table_of_rows(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS filler (id int PRIMARY KEY, text text);"
            "INSERT INTO filler SELECT i, md5(i::text) FROM generate_series(1, 5000) i "
            "ON CONFLICT DO NOTHING"
        )
    finally:
        await conn.close()


def job_of(services: list[Service]) -> dict[str, Any]:
    text = kubernetes_backup.render(services)[kubernetes_backup.COMPONENT_DIR / "backup.yaml"]
    return next(d for d in yaml.safe_load_all(text) if d["kind"] == "Job")


def test_the_jobs_command_is_one_mosaic_accepts(services: list[Service]) -> None:
    [container] = job_of(services)["spec"]["template"]["spec"]["containers"]
    assert container["command"][:3] == ["mosaic", "admin", "backup"]
    check_runnable(container["command"][1:])


def test_the_job_mounts_every_file_it_names_and_writes_to_the_claim(
    services: list[Service],
) -> None:
    pod = job_of(services)["spec"]["template"]["spec"]
    [container] = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    items = {i["path"] for i in volumes["admin"]["secret"]["items"]}
    named = [a for a in container["command"] if a.startswith("/")]
    assert named and all(a.startswith(mounts["admin"] + "/") for a in named)
    assert {a.rsplit("/", 1)[1] for a in named} <= items
    home = {e["name"]: e["value"] for e in container["env"]}["MOSAIC_HOME"]
    assert mounts["backups"] == f"{home}/backups"
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == kubernetes_backup.CLAIM


def test_a_dump_cut_short_does_not_read_whole_even_with_a_matching_manifest(
    servers: BackingServers, tmp_path: Path
) -> None:
    """The checksum catches a dump damaged after the backup; reading it to its end catches
    one that was short when the manifest was written (a full disk, a killed pg_dump)."""
    asyncio.run(a_table_of_rows(servers.database_url("orders")))
    dump = tmp_path / "orders.dump"
    asyncio.run(backup_postgres.dump(servers.admin_database_url, "orders", dump))
    assert backup_postgres.read_whole(dump) is None
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size - 200])
    complaint = backup_postgres.read_whole(dump)
    assert complaint is not None and "\n" not in complaint, complaint


def test_kept_valkey_keys_come_back_exactly_streams_with_their_groups(
    servers: BackingServers, services: list[Service], tmp_path: Path
) -> None:
    by_name = {s.name: s for s in services}
    admin = redis.Redis.from_url(servers.admin_redis_url)
    admin.set("frontend:session:abc", "signed in", px=3_600_000)
    admin.hset("accounts:limit:x", mapping={"count": "3"})
    admin.set("catalog:products:1", "cached")  # only a cache: not kept
    admin.xadd("events:orders", {"type": "order-placed"})
    admin.xadd("events:orders", {"type": "order-paid"})
    admin.xgroup_create("events:orders", "notifications", id="0")
    admin.xreadgroup("notifications", "worker-1", {"events:orders": ">"}, count=1)  # 1 pending

    def state() -> dict[str, object]:
        return {
            "session": (admin.get("frontend:session:abc"), admin.pttl("frontend:session:abc")),
            "limit": admin.hgetall("accounts:limit:x"),
            "stream": [fields for _, fields in admin.xrange("events:orders") or []],
            "groups": admin.xinfo_groups("events:orders"),
            "pending": admin.xpending("events:orders", "notifications")["pending"],
        }

    before = state()
    files = {name: tmp_path / f"{name}.valkey.jsonl" for name in ("frontend", "accounts", "orders")}
    for name, file in files.items():
        asyncio.run(backup_valkey.dump(servers.admin_redis_url, by_name[name], file))
    assert backup_valkey.keeps_valkey(by_name["catalog"]) is False
    for name in files:
        asyncio.run(backup_valkey.clear(servers.admin_redis_url, by_name[name]))
    assert admin.exists("frontend:session:abc", "accounts:limit:x", "events:orders") == 0
    for file in files.values():
        asyncio.run(backup_valkey.restore(servers.admin_redis_url, file))
    after = state()
    ttl_before, ttl_after = before.pop("session"), after.pop("session")
    assert after == before and before["pending"] == 1
    assert ttl_after[0] == ttl_before[0] and 0 < ttl_after[1] <= ttl_before[1]  # type: ignore[index]
    admin.close()


def test_a_restore_through_admin_urls_waits_for_the_services_to_stop(
    servers: BackingServers, tmp_path: Path
) -> None:
    """Over a deployment's servers (compose, a cluster) nothing says whether the shop runs:
    a restore is refused while anything is connected to a database it would replace."""
    url = servers.database_url("orders")
    asyncio.run(a_table_of_rows(url))
    env = {**os.environ, "MOSAIC_HOME": str(servers.home)}  # its secrets.json: the passwords
    args = url_files(tmp_path / "admin", servers)
    backup = tmp_path / "backup"
    done = mosaic("admin", "backup", *args, "--service", "orders", "--to", str(backup), env=env)
    assert done.returncode == 0, done.stderr
    restore = ("admin", "restore", "--from", str(backup), *args)

    async def rows_then(sql: str, hold: bool = False) -> int:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
            if hold:  # a service still connected while the restore runs
                refused = await asyncio.to_thread(mosaic, *restore, "--force", env=env)
                assert refused.returncode == 1, refused.stderr
                assert "1 session(s) of orders connected" in refused.stderr, refused.stderr
            return int(await conn.fetchval("SELECT count(*) FROM filler"))
        finally:
            await conn.close()

    assert asyncio.run(rows_then("DELETE FROM filler WHERE id > 10", hold=True)) == 10
    unforced = mosaic(*restore, env=env)
    assert unforced.returncode == 2 and "already holds data of orders" in unforced.stderr
    forced = mosaic(*restore, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert asyncio.run(rows_then("SELECT 1")) == 5000
