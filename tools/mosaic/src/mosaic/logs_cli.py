"""`mosaic logs`: the shop's log lines, from `mosaic up`'s files or a compose deployment's
containers, filtered and in time order."""

import os
import sys
from typing import Annotated

import typer

from mosaic.deploy_cli import EngineOption, ProjectOption, compose_deployment
from mosaic.errors import MosaicError
from mosaic.home import mosaic_home, services_dir


def logs(
    services: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SERVICE",
            help="Only these: a service (orders), a process type (orders.relay) or one "
            "process (orders.web.2); also postgres, valkey and mosaic (the runner).",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Then print new lines as they come, until Ctrl-C."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="10m|ISO-TIME",
            help="Only lines from then on: a duration ago (30s, 10m, 2h, 1d) or a time "
            "(2026-05-01T12:00; without a zone, this machine's local time).",
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(
            metavar="LEVEL",
            help="Only lines of at least this level: debug, info, warning, error, critical "
            "(lines of no known level, e.g. Postgres's own, are then left out).",
        ),
    ] = None,
    grep: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Only lines holding TEXT (as stored; case matters)."),
    ] = None,
    trace: Annotated[
        str | None,
        typer.Option(
            metavar="TRACE_ID",
            help="Only the lines of one trace: a checkout in every service it went through.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The stored JSON lines, one per line (for jq).")
    ] = False,
    compose: Annotated[
        bool,
        typer.Option(
            "--compose",
            help="Read the containers of `mosaic deploy compose` (from the container "
            "engine) instead of `mosaic up`'s files.",
        ),
    ] = False,
    engine: EngineOption = None,
    project: ProjectOption = "mosaic",
) -> None:
    """Show the shop's logs: every process's lines, kept by `mosaic up`, in time order.

    `mosaic up` writes each process's lines to $MOSAIC_HOME/logs (one file per process,
    rotated, bounded), so they can be read after they scrolled by, or after the shop
    stopped. Filters combine: `mosaic logs orders --level warning --since 1h`. Every line
    of one checkout, across services: `mosaic logs --trace TRACE_ID` (the trace id is on
    each of its lines, e.g. the frontend's request line). With --compose, the same for
    the shop under `mosaic deploy compose`, read from the container engine.
    """
    from dataclasses import replace
    from datetime import UTC, datetime

    from mosaic.log_files import logs_folder
    from mosaic.log_reading import LogFilter, check_services, parse_level, parse_since
    from mosaic.log_view import known_names, show_logs
    from mosaic.services import discover_services

    keep = LogFilter(
        since=parse_since(since, datetime.now(UTC)) if since is not None else None,
        level=parse_level(level) if level is not None else None,
        grep=grep,
        trace=trace.strip().lower() if trace is not None else None,
    )
    folder = logs_folder(mosaic_home())
    try:
        if compose:
            from mosaic.compose_logs import show_compose_logs

            deployment = compose_deployment(engine, project)
            show_compose_logs(deployment, services or [], keep, as_json=as_json, follow=follow)
            return
        if services:
            try:
                shop = [s.name for s in discover_services(services_dir(None))]
            except MosaicError:
                shop = []  # outside the repository: the names the files give
            keep = replace(keep, services=check_services(services, known_names(folder, shop)))
        show_logs(folder, keep, as_json=as_json, follow=follow)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except BrokenPipeError:  # `mosaic logs | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
