"""The backup's manifest and its checks, without any server: what `verify-backup` and
`restore` refuse, one line each, and which services and keys a backup covers."""

from pathlib import Path

import pytest
from mosaic.admin.backup import stateful, steps
from mosaic.admin.backup_manifest import (
    MANIFEST,
    Manifest,
    ServiceBackup,
    Table,
    complete,
    partial_path,
    problems,
    read_manifest,
)
from mosaic.admin.backup_valkey import patterns
from mosaic.admin.schema_history import known_revisions
from mosaic.errors import UsageError
from mosaic.services import Service

HISTORIES = {"orders": {"0001", "0002"}, "frontend": set()}


def reads_whole(path: Path) -> str | None:
    return None


def a_backup(folder: Path) -> Manifest:
    """A backup of orders (a dump and its keys) and frontend (keys only), as take_backup
    writes one."""
    manifest = Manifest("2026-12-06T22:00:00+00:00", {"pg_dump": "pg_dump 18"}, {}, {})
    for name, data in [("orders.dump", b"PGDMP" + bytes(range(256)) * 40),
                       ("orders.valkey.jsonl", b'{"key": "a"}\n'),
                       ("frontend.valkey.jsonl", b"")]:  # fmt: skip
        partial_path(folder, name).write_bytes(data)
        manifest.files[name] = complete(folder, name)
    tables = {"public.orders": Table(3, "d41d8cd98f00b204e9800998ecf8427e")}
    manifest.services["orders"] = ServiceBackup(
        "0002", tables, ["orders.dump", "orders.valkey.jsonl"]
    )
    manifest.services["frontend"] = ServiceBackup(None, {}, ["frontend.valkey.jsonl"])
    partial_path(folder, MANIFEST).write_text(manifest.to_json())
    complete(folder, MANIFEST)
    return manifest


def test_a_whole_backup_has_no_problems_and_its_manifest_reads_back(tmp_path: Path) -> None:
    written = a_backup(tmp_path)
    assert read_manifest(tmp_path) == written
    assert problems(tmp_path, written, HISTORIES, reads_whole) == []
    assert not list(tmp_path.glob(".partial-*"))


def test_a_folder_without_a_manifest_is_an_unfinished_backup(tmp_path: Path) -> None:
    a_backup(tmp_path)
    (tmp_path / MANIFEST).unlink()
    with pytest.raises(ValueError, match="no manifest: the backup did not finish"):
        read_manifest(tmp_path)


def test_a_truncated_dump_is_named_with_its_size(tmp_path: Path) -> None:
    manifest = a_backup(tmp_path)
    dump = tmp_path / "orders.dump"
    dump.write_bytes(dump.read_bytes()[:-100])
    assert problems(tmp_path, manifest, HISTORIES, reads_whole) == [
        f"orders.dump: {manifest.files['orders.dump'].bytes - 100} bytes, the manifest says "
        f"{manifest.files['orders.dump'].bytes} (truncated?)"
    ]


def test_a_flipped_byte_is_caught_by_the_checksum(tmp_path: Path) -> None:
    manifest = a_backup(tmp_path)
    dump = tmp_path / "orders.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    assert problems(tmp_path, manifest, HISTORIES, reads_whole) == [
        "orders.dump: its SHA-256 differs from the manifest's (changed or damaged)"
    ]


def test_a_schema_revision_the_code_does_not_know_is_named(tmp_path: Path) -> None:
    manifest = a_backup(tmp_path)
    manifest.services["orders"].schema_revision = "0099"
    [problem] = problems(tmp_path, manifest, HISTORIES, reads_whole)
    assert problem.startswith("orders: schema revision 0099 is not in this code's migrations")


def test_a_dump_that_does_not_read_whole_says_why(tmp_path: Path) -> None:
    manifest = a_backup(tmp_path)
    found = problems(tmp_path, manifest, HISTORIES, lambda _: "unexpected end of file")
    assert found == ["orders.dump: does not read whole: unexpected end of file"]


def test_only_the_services_asked_for_are_checked(tmp_path: Path) -> None:
    manifest = a_backup(tmp_path)
    (tmp_path / "orders.dump").unlink()
    assert problems(tmp_path, manifest, HISTORIES, reads_whole, ["frontend"]) == []
    assert problems(tmp_path, manifest, HISTORIES, reads_whole, ["orders"]) == [
        "orders.dump: missing"
    ]
    assert problems(tmp_path, manifest, HISTORIES, reads_whole, ["cart"]) == [
        "cart: not in this backup (it holds orders, frontend)"
    ]


def test_every_problem_is_one_line(tmp_path: Path) -> None:
    manifest = a_backup(tmp_path)
    (tmp_path / "orders.dump").write_bytes(b"PGDMP")
    (tmp_path / "frontend.valkey.jsonl").unlink()
    manifest.services["orders"].schema_revision = "0099"
    found = problems(tmp_path, manifest, HISTORIES, reads_whole)
    assert len(found) == 3 and all("\n" not in line for line in found)


def test_the_stateful_services_come_from_the_service_data(services: list[Service]) -> None:
    kept = {s.name for s in stateful(services)}
    with_a_database = {s.name for s in services if "postgres" in s.backing}
    assert with_a_database <= kept
    assert "frontend" in kept  # its sessions, in Valkey only
    assert not kept & {"currency", "recommendations"}  # they keep nothing
    with pytest.raises(UsageError, match="no service named currency"):
        stateful(services, ["currency"])
    assert steps(stateful(services, ["orders"])) == 2  # its dump and its stream


def test_the_cache_is_not_kept_but_sessions_limits_and_streams_are(
    services: list[Service],
) -> None:
    by_name = {s.name: s for s in services}
    assert patterns(by_name["catalog"]) == ([], [])
    assert patterns(by_name["frontend"]) == (["frontend:*"], [])
    assert patterns(by_name["accounts"]) == (
        ["accounts:*"],
        ["events:accounts", "events:accounts:dead"],
    )
    assert patterns(by_name["orders"]) == ([], ["events:orders", "events:orders:dead"])


def test_the_revisions_the_code_knows_are_read_from_its_migrations(
    services: list[Service],
) -> None:
    by_name = {s.name: s for s in services}
    assert {"0001", "0002"} <= known_revisions(by_name["orders"])
    assert known_revisions(by_name["frontend"]) == set()
