"""`mosaic images` and `mosaic deploy`: building the images, rendering the deploy files from
the service data, and the whole shop in containers (`mosaic deploy compose`). Sub-apps of
the `mosaic` command line; `mosaic logs` shares the compose deployment for its containers."""

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mosaic.deploy_k8s import app as k8s_app
from mosaic.home import mosaic_home, services_dir, workspace_root

if TYPE_CHECKING:
    from mosaic.deploy_compose import ComposeDeployment

images_app = typer.Typer(
    help="Container images of the services: one per service, from deploy/images/Containerfile.",
    no_args_is_help=True,
)
deploy_app = typer.Typer(
    help="Deployments of the shop from its images, generated from the service data.",
    no_args_is_help=True,
)
compose_app = typer.Typer(
    help="The whole shop in containers on this machine (deploy/compose/compose.yaml).",
    no_args_is_help=True,
)
deploy_app.add_typer(compose_app, name="compose")
deploy_app.add_typer(k8s_app, name="k8s")
_err = Console(stderr=True, highlight=False, soft_wrap=True)


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


def compose_deployment(engine: str | None, project: str) -> "ComposeDeployment":
    from mosaic.deploy_compose import ComposeDeployment
    from mosaic.engine import find_engine

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", project):
        raise typer.BadParameter("lower-case letters, digits, - and _", param_hint="--project")
    root = workspace_root()
    found = find_engine(engine, root)
    return ComposeDeployment(root, mosaic_home(), services_dir(None), found, _say, project)


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

    deployment = compose_deployment(engine, project)
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
    compose_deployment(engine, project).down(keep_data)


@compose_app.command("status")
def compose_status(engine: EngineOption = None, project: ProjectOption = "mosaic") -> None:
    """Show the shop's containers: state, readiness (each healthcheck run now) and image.
    Exits 1 when a running container is unhealthy or none of the project exists."""
    from rich.table import Table

    found = compose_deployment(engine, project).status()
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


@compose_app.command(
    "call", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True}
)
def compose_call(
    args: Annotated[list[str], typer.Argument(metavar="COMPOSE-ARGS...")],
    engine: EngineOption = None,
    project: ProjectOption = "mosaic",
) -> None:
    """Run a compose command (podman-compose, or `docker compose`) on the shop's
    deployment: its compose file, project, $MOSAIC_STATE and images' tag set as `up` sets
    them, stdin and stdout yours; exits with its code. Options of this command go before
    COMPOSE-ARGS. E.g. a backup now, or stopping every container:

    \b
        ./mosaic deploy compose call run --rm backup mosaic admin backup-job \\
          --postgres-admin-url-file /run/mosaic/admin/postgres-admin-url \\
          --valkey-admin-url-file /run/mosaic/admin/valkey-admin-url --to /backups
        ./mosaic deploy compose call stop
    """
    raise typer.Exit(compose_deployment(engine, project).call(args))


def _say(line: str) -> None:
    _err.print(line, markup=False, highlight=False)
