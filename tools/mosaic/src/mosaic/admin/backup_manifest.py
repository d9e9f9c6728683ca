"""A backup's manifest and the checks that a backup folder is whole, without any server.

A backup folder holds one file per service and store (`orders.dump`, a pg_dump in custom
format; `frontend.valkey.jsonl`, its Valkey keys) and `manifest.json`, written last: a folder
without one never finished. The manifest names each file with its size and SHA-256, and per
service the schema revision (Alembic's `alembic_version`) and each table's row count and MD5.
"""

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
PARTIAL = ".partial-"  # what a file is called until it is complete and synced
DUMP = ".dump"


def dump_file(service: str) -> str:
    """The name of a service's pg_dump in a backup."""
    return f"{service}{DUMP}"


def keys_file(service: str) -> str:
    """The name of a service's kept Valkey keys in a backup."""
    return f"{service}.valkey.jsonl"


@dataclass(frozen=True)
class Table:
    rows: int
    md5: str  # of the rows as text, ordered by primary key (backup_postgres.table_stats)


@dataclass
class ServiceBackup:
    schema_revision: str | None = None  # None: the service keeps nothing in Postgres
    tables: dict[str, Table] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FileEntry:
    bytes: int
    sha256: str


@dataclass
class Manifest:
    created: str  # UTC, ISO 8601
    tools: dict[str, str]
    services: dict[str, ServiceBackup]
    files: dict[str, FileEntry]
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data: dict[str, Any] = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"manifest format {data.get('format')!r}; this mosaic reads {FORMAT}")
        services = {
            name: ServiceBackup(
                s.get("schema_revision"),
                {t: Table(int(v["rows"]), str(v["md5"])) for t, v in s["tables"].items()},
                [str(f) for f in s["files"]],
            )
            for name, s in data["services"].items()
        }
        files = {n: FileEntry(int(f["bytes"]), str(f["sha256"])) for n, f in data["files"].items()}
        return cls(str(data["created"]), dict(data["tools"]), services, files)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def partial_path(folder: Path, name: str) -> Path:
    return folder / f"{PARTIAL}{name}"


def complete(folder: Path, name: str) -> FileEntry:
    """Sync `folder/.partial-<name>` to disk and give it its final name; its entry."""
    partial = partial_path(folder, name)
    with partial.open("rb+") as file:
        os.fsync(file.fileno())
    entry = FileEntry(partial.stat().st_size, sha256_of(partial))
    partial.rename(folder / name)
    sync_folder(folder)
    return entry


def sync_folder(folder: Path) -> None:
    """Make the folder's renames durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of a backup folder; ValueError with a one-line reason when there is none
    or it cannot be read."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ValueError(f"{path}: no manifest: the backup did not finish, or this is no backup")
    try:
        return Manifest.from_json(path.read_text())
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} cannot be read: {error}") from None


# Given a dump file, None when it reads whole, else why not (backup_postgres.read_whole).
DumpReader = Callable[[Path], str | None]


def problems(
    folder: Path,
    manifest: Manifest,
    histories: dict[str, set[str]],
    read_dump: DumpReader,
    only: list[str] | None = None,
) -> list[str]:
    """Every reason not to restore `only` (default all) of the backup, one line each:
    a file missing or differing from the manifest, a dump that does not read whole, a schema
    revision outside the service's Alembic history (`histories`: service -> revisions the
    code knows). Empty when it may be restored."""
    found: list[str] = []
    chosen = only or list(manifest.services)
    for service in chosen:
        backup = manifest.services.get(service)
        if backup is None:
            found.append(f"{service}: not in this backup (it holds {', '.join(manifest.services)})")
            continue
        found += _file_problems(folder, manifest, backup.files, read_dump)
        revision = backup.schema_revision
        if revision is not None and revision not in histories.get(service, set()):
            found.append(
                f"{service}: schema revision {revision} is not in this code's migrations "
                "(a backup from newer code?): restore it with the release that made it"
            )
    return found


def _file_problems(
    folder: Path, manifest: Manifest, names: list[str], read_dump: DumpReader
) -> list[str]:
    found = []
    for name in names:
        path, entry = folder / name, manifest.files.get(name)
        if entry is None:
            found.append(f"{name}: not listed in the manifest's files")
        elif not path.is_file():
            found.append(f"{name}: missing")
        elif (size := path.stat().st_size) != entry.bytes:
            found.append(f"{name}: {size} bytes, the manifest says {entry.bytes} (truncated?)")
        elif sha256_of(path) != entry.sha256:
            found.append(f"{name}: its SHA-256 differs from the manifest's (changed or damaged)")
        elif name.endswith(DUMP) and (why := read_dump(path)) is not None:
            found.append(f"{name}: does not read whole: {why}")
    return found
