"""`mosaic admin backup`: each stateful service's database (pg_dump) and the Valkey keys it
must not lose, with a manifest to check them by; callable as `take_backup` (the daily job).

A file is written as `.partial-<name>`, synced, then renamed; the manifest comes last, so a
folder without `manifest.json` is visibly unfinished. A failure removes the partial file.
"""

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mosaic.admin import backup_postgres, backup_valkey
from mosaic.admin.backing_urls import ServerUrls
from mosaic.admin.backup_manifest import (
    MANIFEST,
    Manifest,
    ServiceBackup,
    complete,
    dump_file,
    keys_file,
    partial_path,
)
from mosaic.admin.provisioning import chosen_services
from mosaic.errors import UsageError
from mosaic.services import Service

Step = Callable[[str], None]  # told what is about to be done, before each step


def stateful(known: list[Service], names: list[str] | None = None) -> list[Service]:
    """The services that keep data (a database, or Valkey keys that must survive): those
    named, else all."""
    keeping = [s for s in known if "postgres" in s.backing or backup_valkey.keeps_valkey(s)]
    return chosen_services(keeping, names) if names else keeping


def steps(services: list[Service]) -> int:
    """How many files a backup of `services` writes (for a progress bar)."""
    return sum(("postgres" in s.backing) + backup_valkey.keeps_valkey(s) for s in services)


def default_folder(home: Path) -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    return home / "backups" / stamp


async def take_backup(
    urls: ServerUrls, services: list[Service], folder: Path, step: Step = lambda _: None
) -> Manifest:
    """Back `services` up into `folder` (created; refused when it holds anything)."""
    _new_folder(folder)
    tools = {
        "pg_dump": backup_postgres.tool_version(),
        "valkey": await backup_valkey.server_version(urls.valkey),
    }
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    manifest = Manifest(created, tools, {}, {})
    for service in services:
        manifest.services[service.name] = await _back_up(urls, service, folder, manifest, step)
    partial_path(folder, MANIFEST).write_text(manifest.to_json())
    complete(folder, MANIFEST)
    return manifest


async def _back_up(
    urls: ServerUrls, service: Service, folder: Path, manifest: Manifest, step: Step
) -> ServiceBackup:
    found = ServiceBackup()
    if "postgres" in service.backing:
        name = dump_file(service.name)
        step(f"{service.name}: pg_dump")
        with _partial(folder, name) as out:
            found.schema_revision, found.tables = await backup_postgres.dump(
                urls.postgres, service.name, out
            )
        manifest.files[name] = complete(folder, name)
        found.files.append(name)
    if backup_valkey.keeps_valkey(service):
        name = keys_file(service.name)
        step(f"{service.name}: Valkey keys")
        with _partial(folder, name) as out:
            await backup_valkey.dump(urls.valkey, service, out)
        manifest.files[name] = complete(folder, name)
        found.files.append(name)
    return found


def _new_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty", "Give --to a new folder.")
    folder.mkdir(parents=True, exist_ok=True)


@contextmanager
def _partial(folder: Path, name: str) -> Iterator[Path]:
    """The partial file of `name`, removed when the block fails."""
    path = partial_path(folder, name)
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def summary(manifest: Manifest, folder: Path) -> str:
    size = sum(f.bytes for f in manifest.files.values())
    rows = sum(t.rows for s in manifest.services.values() for t in s.tables.values())
    return (
        f"Backed up {len(manifest.services)} service(s), {rows} rows, "
        f"{size / 1e6:.1f} MB into {folder}"
    )
