"""`mosaic admin jobs`: the command line over job_runs.py (registered on `mosaic admin` by
cli.py)."""

import json
from pathlib import Path
from typing import Annotated

import typer

from mosaic.home import mosaic_home, services_dir

commands = typer.Typer(rich_markup_mode=None)

ServicesDir = Annotated[
    Path | None, typer.Option("--services-dir", hidden=True, envvar="MOSAIC_SERVICES_DIR")
]


@commands.command("jobs")
def list_jobs(
    runs: Annotated[
        int,
        typer.Option(
            "--runs", metavar="N", min=0, help="Also the last N runs of each job, with output."
        ),
    ] = 0,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", metavar="SERVICE", help="Only this service (repeatable)."),
    ] = None,
    postgres_admin_url: Annotated[
        str | None,
        typer.Option(
            envvar="MOSAIC_POSTGRES_ADMIN_URL",
            help="postgresql://USER:PASSWORD@HOST:PORT/postgres of a role that may read every "
            "service's database; default: the running `mosaic up`'s.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    services: ServicesDir = None,
) -> None:
    """Show every scheduled job: its schedule, last run (time, outcome, seconds), next run.

    Reads each service's job_runs table (one row per run: chassis.job_runs) with the
    Postgres admin role; the next run comes from the job's schedule in [tool.mosaic.jobs]
    (times in UTC). Without --service, also the shop's own daily backup, mosaic.backup
    (its runs in the admin database). A run skipped because another run of the job held
    its lock leaves no row. --runs N adds the last N runs with the tail of their output.
    --json: {"jobs": [{"service", "job", "schedule", "last_run", "next_run", "runs"?}]}.
    """
    from datetime import UTC, datetime

    from mosaic.admin.job_runs import admin_postgres_url, lines, read_jobs
    from mosaic.admin.job_runs import as_json as jobs_json
    from mosaic.errors import UsageError
    from mosaic.services import discover_services

    known = discover_services(services_dir(services))
    if unknown := sorted(set(service or []) - {s.name for s in known}):
        raise UsageError(
            f"no service named {', '.join(unknown)}",
            f"Services with jobs: {', '.join(s.name for s in known if s.jobs) or 'none'}.",
        )
    chosen = [s for s in known if not service or s.name in service]
    url = admin_postgres_url(mosaic_home(), postgres_admin_url)
    found = read_jobs(url, chosen, runs, datetime.now(UTC), shop=not service)
    if as_json:
        print(json.dumps(jobs_json(found, runs > 0), indent=2))
    else:
        print("\n".join(lines(found, runs > 0)))
