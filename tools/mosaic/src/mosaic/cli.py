"""The `mosaic` command line: run the whole shop locally and look at it.

The running shop's commands are here; `mosaic logs` is in logs_cli.py, `mosaic images` and
`mosaic deploy` in deploy_cli.py, `mosaic admin` in admin/cli.py, `mosaic bench` in
bench/cli.py, `mosaic serve` in serve.py, `mosaic contracts` in compat/cli.py.
"""

import enum
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mosaic.admin.cli import app as admin_app
from mosaic.bench.cli import bench
from mosaic.chaos.cli import app as chaos_app
from mosaic.compat.cli import app as contracts_app
from mosaic.deploy_cli import deploy_app, images_app
from mosaic.errors import MosaicError
from mosaic.home import mosaic_home, services_dir, workspace_root
from mosaic.logs_cli import logs
from mosaic.serve import app as serve_app
from mosaic.upgrade_cli import upgrade

# Each command imports what it needs when it runs: `status` and `down` stay quick (tests and
# scripts poll them) instead of loading the database and HTTP clients `up` needs.

app = typer.Typer(
    help="Run, inspect and operate Mosaic, the microservices shop, on this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"mosaic {version('mosaic')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Show the version of the mosaic command line and exit.",
        ),
    ] = False,
) -> None:
    """Run, inspect and operate Mosaic, the microservices shop, on this machine."""


app.add_typer(admin_app, name="admin")
app.add_typer(images_app, name="images")
app.add_typer(deploy_app, name="deploy")
app.add_typer(serve_app, name="serve")
app.add_typer(contracts_app, name="contracts")
app.add_typer(chaos_app, name="chaos")
app.command()(bench)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


class Transport(enum.StrEnum):
    mtls = "mtls"
    mesh = "mesh"


@app.command()
def up(
    port: Annotated[
        int,
        typer.Option(help="Port of the shop's front door (the edge).", min=1, max=65535),
    ] = 8080,
    scale: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SERVICE=N",
            help="Run N replicas of every process of SERVICE (or SERVICE.TYPE=N); repeatable.",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="MOSAIC_DATABASE_URL",
            help="Admin URL of an external Postgres to provision and use instead of ours.",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            envvar="MOSAIC_REDIS_URL",
            help="Admin URL of an external Valkey/Redis to provision and use instead of ours.",
        ),
    ] = None,
    ready_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every process to be ready.", min=1)
    ] = 120.0,
    transport: Annotated[
        Transport,
        typer.Option(
            help="mtls: services require TLS 1.3 with client certificates between them. "
            "mesh: plain HTTP between services, as behind a service mesh that does mTLS "
            "for them; service tokens stay on in both.",
        ),
    ] = Transport.mtls,
    mail_port: Annotated[
        int | None,
        typer.Option(
            help="Port of the dev mailbox page (when a service sends mail). "
            "Default: 8025 if free, else any free port; printed after the ready line.",
            min=1,
            max=65535,
        ),
    ] = None,
    dashboard_port: Annotated[
        int | None,
        typer.Option(
            help="Port of the dashboard (the live service graph, process states, outbox "
            "and lag, recent traces and their log lines) and of the OTLP/HTTP receiver every "
            "process exports its spans to. Default: 8090 if free, else any free port; "
            "printed after the ready line.",
            min=1,
            max=65535,
        ),
    ] = None,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Run every service in ONE process, calling each other without the network "
            "(same code, same databases). The floor `mosaic bench --compare` measures the "
            "microservices against; not for production. Cannot be combined with --scale.",
        ),
    ] = False,
    build: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SERVICE=REF",
            help="Start SERVICE from the git revision REF (built as `mosaic upgrade` builds "
            "it, offline), its release (migrations) included, instead of the working tree; "
            "repeatable. For running releases side by side: `mosaic upgrade` from there.",
        ),
    ] = None,
    faults: Annotated[
        bool,
        typer.Option(
            "--faults",
            help="Put a fault proxy on every hop (service to service, to Postgres, to "
            "Valkey), for `mosaic chaos fault`. Off by default: each hop then costs a "
            "proxy's copy (docs/performance.md). Cannot be combined with --in-process.",
        ),
    ] = False,
    services: Annotated[
        Path | None, typer.Option("--services-dir", hidden=True, envvar="MOSAIC_SERVICES_DIR")
    ] = None,
) -> None:
    """Run the whole shop here: Postgres, Valkey and every service.

    On first run it creates a database, role and Valkey user per service under
    $MOSAIC_HOME (default: .mosaic/ in the repository), and a local CA with a certificate
    and a token signing key per service (pki/; certificates are renewed near expiry).
    Every start runs each service's release phase (migrations), then every process of its
    Procfile, restarts crashed ones and ones that stop answering their liveness probe
    (/healthz every 5 s, 3 misses; MOSAIC_LIVENESS="PERIOD,TIMEOUT,FAILURES" or "off"
    changes it), and streams all output here. Once all are ready it
    runs each service's scheduled jobs (\\[tool.mosaic.jobs]). Every line is also kept under
    $MOSAIC_HOME/logs (rotated, bounded) for `mosaic logs`. Services that send mail get
    a local SMTP sink; read the mail on the dev mailbox page. Every process sends its
    spans (OpenTelemetry) to the runner, which keeps the recent traces for the dashboard
    (orders and cart changes, up to one a second per process; page views and the rest at
    OTEL_TRACES_SAMPLER_ARG, default 0.01; MOSAIC_TRACE_WRITES_PER_SECOND=0 samples all
    at the ratio); the dashboard also
    scrapes every process's /metrics to colour the service graph by live traffic. Ctrl-C or
    `mosaic down` stops everything; data (and mail) persists.
    """
    import asyncio

    from mosaic.builds import started_builds
    from mosaic.log_files import LogFiles, logs_folder
    from mosaic.logs import LogStream
    from mosaic.plan import parse_scale
    from mosaic.stack import UpOptions
    from mosaic.up import run_up

    home = mosaic_home()
    builds = started_builds(
        home,
        workspace_root(),
        build or [],
        lambda line: _err.print(f"mosaic up: {line}", markup=False),
    )
    options = UpOptions(
        home=home,
        services_dir=services_dir(services),
        port=port,
        scale=parse_scale(scale or []),
        database_url=database_url,
        redis_url=redis_url,
        ready_timeout=ready_timeout,
        transport=transport.value,
        mail_port=mail_port,
        dashboard_port=dashboard_port,
        in_process=in_process,
        builds=builds,
        faults=faults,
    )
    logs = LogStream(files=LogFiles(logs_folder(options.home)))
    try:
        asyncio.run(run_up(options, logs))
    finally:
        logs.close()


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show each process of the running `mosaic up`.

    Every process with its service, type, replica, pid, port, ops port, state
    (starting, ready, unready, restarting, crashed, stopped) and restarts, then how each
    restarted process last ended (e.g. killed for not answering its liveness probe).
    Exits with 1 when no `mosaic up` runs on this $MOSAIC_HOME.
    """
    from mosaic.status import print_status

    if not print_status(mosaic_home(), as_json):
        raise typer.Exit(1)


@app.command()
def down(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to stop.", min=1)] = 60,
) -> None:
    """Stop the running `mosaic up`.

    Sends it SIGTERM (as Ctrl-C in its terminal would) and waits until every process of
    it has stopped.
    """
    from mosaic.status import stop_runner

    stop_runner(mosaic_home(), timeout)


app.command()(upgrade)  # after down: the order `mosaic --help` lists them in


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(
    ctx: typer.Context,
    static: Annotated[
        bool, typer.Option("--static/--no-static", help="Run ruff and mypy before pytest.")
    ] = True,
) -> None:
    """Run the whole test suite: ruff, mypy (strict), then pytest.

    Further arguments go to pytest, e.g. `mosaic test -k catalog -x`. The tests start
    their own servers on free ports, so this runs fine beside `mosaic up`.
    """
    from mosaic.checks import run_checks

    raise typer.Exit(run_checks(workspace_root(), ctx.args, static=static))


app.command()(logs)  # after test: the order `mosaic --help` lists them in


def main() -> None:
    try:
        app()
    except MosaicError as error:
        _err.print(f"mosaic: {error.message}", style="bold red", markup=False)
        if error.output:
            _err.print(error.output.rstrip(), markup=False)
        if error.hint:
            _err.print(error.hint, markup=False)
        sys.exit(error.exit_code)
    except Exception as error:
        if os.environ.get("MOSAIC_DEBUG"):
            raise
        _err.print(f"mosaic: unexpected error: {error!r}", style="bold red", markup=False)
        _err.print("Run again with MOSAIC_DEBUG=1 to see where it happened, and report it.")
        sys.exit(1)


if __name__ == "__main__":
    main()
