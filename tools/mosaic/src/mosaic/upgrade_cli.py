"""`mosaic upgrade`: the command line of a rolling upgrade (mosaic.upgrade does it)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mosaic.errors import UsageError
from mosaic.home import mosaic_home, workspace_root


def upgrade(
    service: Annotated[str, typer.Argument(help="The service to upgrade, e.g. catalog.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="REF", help="The git revision to run: a commit, branch or tag."
        ),
    ] = None,
    rollback: Annotated[
        bool,
        typer.Option(
            "--rollback",
            help="Go back to the build the service ran before (or, after an upgrade that "
            "stopped half-way, to the one all its replicas ran).",
        ),
    ] = False,
    repo: Annotated[
        Path | None,
        typer.Option(help="The git repository REF is read from. Default: this workspace."),
    ] = None,
) -> None:
    """Replace the running service's processes with another revision, one at a time.

    Against the `mosaic up` running on this $MOSAIC_HOME: builds REF into its own
    environment beside the running one ($MOSAIC_HOME/builds/SHA/: the commit's files and
    the service's virtualenv from its uv.lock, offline), runs that revision's release
    process (migrations) first, then for each replica (web, relay, worker): starts one of
    the new build on the same port, waits until it is ready, drains the old one (SIGTERM:
    readiness off, in-flight requests finished) and stops it. `mosaic status` shows each
    process's build. A revision that changes what `mosaic up` wires at start (backing
    services, calls, process types) is refused. Migrations must suit both builds
    (expand/contract): a rollback runs no downgrade. After a restart, `mosaic up` runs
    the working tree again.
    """
    import asyncio

    from mosaic.upgrade import upgrade as run_upgrade

    if (to is None) == (not rollback):
        raise UsageError(
            "give either --to REF or --rollback",
            f"For example: mosaic upgrade {service} --to HEAD",
        )
    console = Console(highlight=False, soft_wrap=True)
    asyncio.run(
        run_upgrade(
            mosaic_home(),
            repo or workspace_root(),
            service,
            to,
            lambda line: console.print(f"mosaic upgrade: {line}", markup=False),
        )
    )
