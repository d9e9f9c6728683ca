"""`mosaic admin backup-job`: the daily backup with its retention (mosaic.backup_job), one run
now, or (`--cron`) at each time a cron expression names; registered on `mosaic admin` by
cli.py. Each run holds the job's advisory lock and is recorded (admin/shop_job.py)."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mosaic.admin.backup_cli import (
    PostgresUrl,
    PostgresUrlFile,
    ServicesDir,
    ValkeyUrl,
    ValkeyUrlFile,
    given_urls,
    run_reporting,
)
from mosaic.backup_job import CRON, JOB, KEEP_DAILY, KEEP_WEEKLY, NAME
from mosaic.home import mosaic_home, services_dir

if TYPE_CHECKING:
    from mosaic.admin.backing_urls import ServerUrls
    from mosaic.admin.backup_manifest import Manifest
    from mosaic.services import Service

commands = typer.Typer(rich_markup_mode=None)


@commands.command("backup-job")
def backup_job(
    to: Annotated[
        Path | None,
        typer.Option(
            "--to", metavar="DIR", help="The backups' folder; default $MOSAIC_HOME/backups."
        ),
    ] = None,
    keep_daily: Annotated[
        int, typer.Option(metavar="N", min=1, help="Keep the newest backup of N days.")
    ] = KEEP_DAILY,
    keep_weekly: Annotated[
        int, typer.Option(metavar="M", min=0, help="And of M ISO weeks.")
    ] = KEEP_WEEKLY,
    cron: Annotated[
        str | None,
        typer.Option(
            metavar="EXPR",
            help=f'Stay running and back up at each time EXPR names (UTC; the job\'s is "{CRON}"),'
            " as compose's scheduler container does; default: once, now.",
        ),
    ] = None,
    postgres_admin_url: PostgresUrl = None,
    valkey_admin_url: ValkeyUrl = None,
    postgres_admin_url_file: PostgresUrlFile = None,
    valkey_admin_url_file: ValkeyUrlFile = None,
    services: ServicesDir = None,
) -> None:
    """The daily backup: back up every service that keeps data into DIR/TIME (its UTC time, as
    `mosaic admin backup`), then delete the backups past the retention: the newest backup
    of each of the last N days and of each of the last M weeks stay, a folder without
    manifest.json goes once a later backup completed. Nothing is deleted when the backup
    fails.

    One run at a time everywhere (a Postgres advisory lock in the admin database: a run
    that finds it held does nothing and exits 0); each run is recorded there, and `mosaic
    admin jobs` shows it as mosaic.backup. Against the running `mosaic up` on
    $MOSAIC_HOME (which schedules it itself), or a deployment's servers by admin URLs.
    """
    from mosaic.admin.backing_urls import running_urls
    from mosaic.admin.backup import stateful
    from mosaic.errors import MosaicError, UsageError
    from mosaic.schedules import cron_problem
    from mosaic.services import discover_services

    home = mosaic_home()
    chosen = stateful(discover_services(services_dir(services)))
    urls = given_urls(
        postgres_admin_url, valkey_admin_url, postgres_admin_url_file, valkey_admin_url_file
    ) or running_urls(home)
    if urls is None:
        raise MosaicError(
            f"Mosaic is not running on {home}",
            "Start it with `./mosaic up`, or give the servers' admin URLs.",
        )
    root = (to or home / "backups").absolute()
    if cron is None:
        run_reporting(one_run(urls, chosen, root, keep_daily, keep_weekly), "the backup job")
        return
    if problem := cron_problem(cron):
        raise UsageError(f"--cron: {problem}", 'Five fields, in UTC, e.g. "0 2 * * *".')
    asyncio.run(_on_schedule(cron, urls, chosen, root, keep_daily, keep_weekly))


async def one_run(
    urls: "ServerUrls", services: "list[Service]", root: Path, daily: int, weekly: int
) -> None:
    """One run: the backup, then the retention, under the job's lock, recorded."""
    from mosaic.admin.backup import summary, take_backup
    from mosaic.admin.shop_job import run_recorded
    from mosaic.backup_job import daily_backup

    async def work(say: Callable[[str], None]) -> None:
        taken: list[Manifest] = []

        async def take(folder: Path) -> None:
            taken.append(await take_backup(urls, services, folder))

        folder, gone = await daily_backup(take, root, datetime.now(UTC), daily, weekly)
        say(summary(taken[0], folder))
        for old in gone:
            say(f"deleted {old} (past the retention: {daily} daily, {weekly} weekly)")

    await run_recorded(urls.postgres, NAME, work)


async def _on_schedule(
    cron: str, urls: "ServerUrls", services: "list[Service]", root: Path, daily: int, weekly: int
) -> None:
    from dataclasses import replace

    from mosaic.jobs import run_on_schedule, utc_now

    async def run_once() -> None:
        try:
            await one_run(urls, services, root, daily, weekly)
        except Exception as error:  # recorded with its output; runs again next time
            print(f"{NAME} failed: {type(error).__name__}: {error}", flush=True)

    await run_on_schedule(replace(JOB, cron=cron), run_once, utc_now, asyncio.sleep)
