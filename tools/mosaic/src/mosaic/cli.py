"""The `mosaic` command line: run the whole shop locally and look at it."""

import enum
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mosaic.admin.cli import app as admin_app
from mosaic.bench.cli import bench
from mosaic.deploy_k8s import app as k8s_app
from mosaic.errors import MosaicError
from mosaic.home import mosaic_home, services_dir, workspace_root
from mosaic.serve import app as serve_app

if TYPE_CHECKING:
    from mosaic.deploy_compose import ComposeDeployment

# Each command imports what it needs when it runs: `status` and `down` stay quick (tests and
# scripts poll them) instead of loading the database and HTTP clients `up` needs.

app = typer.Typer(
    help="Run, inspect and operate Mosaic, the microservices shop, on this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(admin_app, name="admin")
images_app = typer.Typer(
    help="Container images of the services: one per service, from deploy/images/Containerfile.",
    no_args_is_help=True,
)
app.add_typer(images_app, name="images")
deploy_app = typer.Typer(
    help="Deployments of the shop from its images, generated from the service data.",
    no_args_is_help=True,
)
app.add_typer(deploy_app, name="deploy")
compose_app = typer.Typer(
    help="The whole shop in containers on this machine (deploy/compose/compose.yaml).",
    no_args_is_help=True,
)
deploy_app.add_typer(compose_app, name="compose")
deploy_app.add_typer(k8s_app, name="k8s")
app.add_typer(serve_app, name="serve")
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
    services: Annotated[
        Path | None, typer.Option("--services-dir", hidden=True, envvar="MOSAIC_SERVICES_DIR")
    ] = None,
) -> None:
    """Run the whole shop here: Postgres, Valkey and every service.

    On first run it creates a database, role and Valkey user per service under
    $MOSAIC_HOME (default: .mosaic/ in the repository), and a local CA with a certificate
    and a token signing key per service (pki/; certificates are renewed near expiry).
    Every start runs each service's release phase (migrations), then every process of its
    Procfile, restarts crashed ones, and streams all output here. Once all are ready it
    runs each service's scheduled jobs ([tool.mosaic.jobs]). Every line is also kept under
    $MOSAIC_HOME/logs (rotated, bounded) for `mosaic logs`. Services that send mail get
    a local SMTP sink; read the mail on the dev mailbox page. Every process sends its
    spans (OpenTelemetry) to the runner, which keeps the recent traces for the dashboard
    (orders and cart changes, up to one a second per process; page views and the rest at
    OTEL_TRACES_SAMPLER_ARG, default 0.1 here; MOSAIC_TRACE_WRITES_PER_SECOND=0 samples all
    at the ratio); the dashboard also
    scrapes every process's /metrics to colour the service graph by live traffic. Ctrl-C or
    `mosaic down` stops everything; data (and mail) persists.
    """
    import asyncio

    from mosaic.log_files import LogFiles, logs_folder
    from mosaic.logs import LogStream
    from mosaic.plan import parse_scale
    from mosaic.stack import UpOptions
    from mosaic.up import run_up

    options = UpOptions(
        home=mosaic_home(),
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

    Every process with its service, type, replica, pid, port, ops port and state
    (starting, ready, restarting, crashed, stopped). Exits with 1 when no
    `mosaic up` runs on this $MOSAIC_HOME.
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


EngineOption = Annotated[
    str | None,
    typer.Option(
        metavar="podman|docker", help="The container engine (default: the first that works)."
    ),
]


@images_app.command("build")
def images_build(
    packages: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SERVICE]...",
            help="Which images (default: every service and the tools, `mosaic`).",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            metavar="IMAGE",
            help="The base image: any Debian-like image with python3.11 and its venv module. "
            "Default: the local base if --make-base made one, else python:3.11-slim-bookworm.",
        ),
    ] = None,
    make_base: Annotated[
        bool,
        typer.Option(
            "--make-base",
            help="First make the base from Debian's packages with mmdebstrap (no registry "
            "needed), as localhost/mosaic/base:bookworm, and build on it.",
        ),
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            metavar="podman|docker", help="The container engine (default: the first that works)."
        ),
    ] = None,
) -> None:
    """Build the image of each service (and of the `mosaic` tools) from the lock.

    Tags each localhost/mosaic/<name>:<git revision> and :dev. Every image installs only its
    package's locked dependencies (hashes checked; nothing downloaded inside the build), runs
    as a numeric non-root user and works with a read-only root filesystem. Sizes and build
    times are printed at the end.
    """
    from mosaic import images
    from mosaic.engine import find_engine

    root = workspace_root()
    chosen = images.chosen(images.packages(root), packages or [])
    found = find_engine(engine, root)
    say = _say
    say(f"engine: {found.name} ({found.executable})")
    if make_base and base:
        raise typer.BadParameter("give --base or --make-base, not both")
    chosen_base = images.make_base(found, say) if make_base else images.choose_base(found, base)
    built = images.build(found, root, chosen, chosen_base, say)
    total = sum(b.seconds for b in built)
    say(f"built {len(built)} image(s) in {total:.0f} s on {chosen_base}")


@deploy_app.command("render")
def deploy_render(
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether the committed files are current.")
    ] = False,
) -> None:
    """Write deploy/compose/compose.yaml, deploy/k8s/base/ (with the provisioning Job), the
    components (network-policies, service-mesh-istio, cert-manager), the dev overlay's servers,
    the GKE overlay's per-service patches and deploy/cloudrun/ from [tool.mosaic], the
    Procfiles, the container environment and the routes' allowlists; the SLO rules
    and symptom alerts (deploy/observability/rules/) and the monitoring components.
    Run it after changing any of them; a test fails while a file is stale."""
    from mosaic import (
        cert_manager,
        cloudrun,
        compose,
        gke,
        istio,
        kubernetes,
        kubernetes_backup,
        kubernetes_servers,
        monitoring,
        network_policies,
        slos,
        symptoms,
    )
    from mosaic.services import discover_services

    root = workspace_root()
    services = discover_services(services_dir(None))
    edges = network_policies.http_edges(services)
    files = {
        compose.COMPOSE_FILE: compose.render(services),
        **kubernetes.render(services),
        **network_policies.render(services, edges),
        **kubernetes_servers.render(services),
        **istio.render(services, edges),
        **cert_manager.render(services),
        **kubernetes_backup.render(services),
        **gke.render(services, edges),
        **cloudrun.render(services),
        **slos.render(),
        **symptoms.render(),
        **monitoring.render(),
    }
    stale = [path for path, text in files.items() if not _holds(root / path, text)]
    if check:
        for path in files:
            _say(f"{path}: {'STALE: run `mosaic deploy render`' if path in stale else 'current'}")
        raise typer.Exit(1 if stale else 0)
    for path in files:
        if path not in stale:
            _say(f"{path}: already current")
            continue
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(files[path])
        _say(f"wrote {path}")


def _holds(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text() == text


ProjectOption = Annotated[
    str,
    typer.Option(
        help="The compose project: its containers, network and volumes are named after it."
    ),
]


def _deployment(engine: str | None, project: str) -> "ComposeDeployment":
    from mosaic.deploy_compose import ComposeDeployment
    from mosaic.engine import find_engine

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", project):
        raise typer.BadParameter("lower-case letters, digits, - and _", param_hint="--project")
    root = workspace_root()
    found = find_engine(engine, root)
    return ComposeDeployment(root, mosaic_home(), services_dir(None), found, _say, project)


@app.command()
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

            deployment = _deployment(engine, project)
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


@compose_app.command("up")
def compose_up(
    port: Annotated[
        int, typer.Option(help="Port of the shop on 127.0.0.1.", min=1, max=65535)
    ] = 8080,
    mail_port: Annotated[
        int, typer.Option(help="Port of the dev mailbox page on 127.0.0.1.", min=1, max=65535)
    ] = 8025,
    scale: Annotated[
        str | None,
        typer.Option(
            metavar="CONTAINER=N",
            help="Run N containers of one process type, e.g. catalog=2 (its web process).",
        ),
    ] = None,
    base: Annotated[
        str | None, typer.Option(metavar="IMAGE", help="Base for images still to build.")
    ] = None,
    ready_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the shop to answer.", min=1)
    ] = 300.0,
    engine: EngineOption = None,
    project: ProjectOption = "mosaic",
) -> None:
    """Run the whole shop from its images, on a private container network.

    Builds the images this revision lacks (`mosaic images build`), makes what the containers
    mount under $MOSAIC_HOME/compose (admin passwords, the PKI, provisioned secrets; never
    committed), starts Postgres, Valkey, the dev mailbox, provisioning, each service's
    release and every process type, and waits until the shop answers. Running it again
    applies changes; `mosaic deploy compose down` removes it.
    """
    from mosaic.deploy_compose import Ports

    deployment = _deployment(engine, project)
    deployment.up(Ports(port, mail_port), [scale] if scale else [], base, ready_timeout)


@compose_app.command("down")
def compose_down(
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Keep the volumes (databases, mail).")
    ] = False,
    engine: EngineOption = None,
    project: ProjectOption = "mosaic",
) -> None:
    """Remove every container and the network of the shop, and its volumes (unless
    --keep-data); then check that nothing of it is left."""
    _deployment(engine, project).down(keep_data)


@compose_app.command("status")
def compose_status(engine: EngineOption = None, project: ProjectOption = "mosaic") -> None:
    """Show the shop's containers: state, readiness (each healthcheck run now) and image.
    Exits 1 when a running container is unhealthy or none of the project exists."""
    from rich.table import Table

    found = _deployment(engine, project).status()
    if not found:
        _say(f"no container of project {project!r} exists (`mosaic deploy compose up`)")
        raise typer.Exit(1)
    table = Table(box=None, pad_edge=False)
    for column in ("container", "state", "health", "image"):
        table.add_column(column)
    for item in found:
        table.add_row(item.name, item.state, item.health, item.image)
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)
    raise typer.Exit(1 if any(item.health == "unhealthy" for item in found) else 0)


def _say(line: str) -> None:
    _err.print(line, markup=False, highlight=False)


def main() -> None:
    try:
        app()
    except MosaicError as error:
        _err.print(f"mosaic: {error.message}", style="bold red")
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
