"""`mosaic admin backup`, `restore` and `verify-backup`: the command line over backup.py and
restore.py (registered on `mosaic admin` by cli.py)."""

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mosaic.home import mosaic_home, services_dir

if TYPE_CHECKING:
    from mosaic.admin.backing_urls import ServerUrls

commands = typer.Typer(rich_markup_mode=None)
T = TypeVar("T")

ServicesDir = Annotated[
    Path | None, typer.Option("--services-dir", hidden=True, envvar="MOSAIC_SERVICES_DIR")
]
Only = Annotated[
    list[str] | None,
    typer.Option("--service", metavar="SERVICE", help="Only this service (repeatable)."),
]


PostgresUrl = Annotated[
    str | None,
    typer.Option(
        "--postgres-admin-url",
        envvar="MOSAIC_POSTGRES_ADMIN_URL",
        help="Postgres admin URL of a deployment (compose, Kubernetes); default: the "
        "home's own server.",
    ),
]
ValkeyUrl = Annotated[
    str | None,
    typer.Option(
        "--valkey-admin-url", envvar="MOSAIC_VALKEY_ADMIN_URL", help="Valkey admin URL, likewise."
    ),
]
PostgresUrlFile = Annotated[
    Path | None,
    typer.Option(
        "--postgres-admin-url-file",
        metavar="FILE",
        help="A file holding the Postgres admin URL (a mounted secret), instead of "
        "--postgres-admin-url.",
    ),
]
ValkeyUrlFile = Annotated[
    Path | None,
    typer.Option(
        "--valkey-admin-url-file",
        metavar="FILE",
        help="A file holding the Valkey admin URL, likewise.",
    ),
]


def given_urls(
    postgres: str | None, valkey: str | None, postgres_file: Path | None, valkey_file: Path | None
) -> "ServerUrls | None":
    """The servers' admin URLs given on the command line, if any (both or none)."""
    from mosaic.admin.backing_urls import ServerUrls
    from mosaic.admin.provisioning import url_from_options
    from mosaic.errors import UsageError

    postgres = url_from_options(postgres, postgres_file, "--postgres-admin-url")
    valkey = url_from_options(valkey, valkey_file, "--valkey-admin-url")
    if (postgres is None) != (valkey is None):
        raise UsageError("give both --postgres-admin-url and --valkey-admin-url, or neither")
    return ServerUrls(postgres, valkey) if postgres and valkey else None


@commands.command()
def backup(
    service: Only = None,
    to: Annotated[
        Path | None,
        typer.Option(
            "--to", metavar="DIR", help="A new folder; default $MOSAIC_HOME/backups/<UTC time>."
        ),
    ] = None,
    postgres_admin_url: PostgresUrl = None,
    valkey_admin_url: ValkeyUrl = None,
    postgres_admin_url_file: PostgresUrlFile = None,
    valkey_admin_url_file: ValkeyUrlFile = None,
    services: ServicesDir = None,
) -> None:
    """Back up every service that keeps data: its database (pg_dump, custom format, one
    snapshot per service) and the Valkey keys it must not lose (sessions, sign-in limits,
    event streams with their consumer groups; not catalog's cache), plus manifest.json:
    schema revision, rows and MD5 per table, sizes, tool versions, time, SHA-256 per file.

    Works on $MOSAIC_HOME while `mosaic up` runs (through its servers) or not (starting
    them for the backup), or on a deployment's servers given by admin URLs (compose, a
    Kubernetes Job: docs/operations.md, "Backups and restores"). Files appear under
    their names only once complete; manifest.json is written last. Check a backup with
    `mosaic admin verify-backup DIR`.
    """
    from mosaic.admin.backing_urls import ServerUrls, has_data, home_servers, running_urls
    from mosaic.admin.backup import default_folder, stateful, steps, summary, take_backup
    from mosaic.errors import MosaicError
    from mosaic.services import discover_services

    home = mosaic_home()
    chosen = stateful(discover_services(services_dir(services)), service)
    given = given_urls(
        postgres_admin_url, valkey_admin_url, postgres_admin_url_file, valkey_admin_url_file
    )
    folder = (to or default_folder(home)).absolute()

    @contextmanager
    def servers() -> Iterator[ServerUrls]:
        if given is not None:
            yield given
        elif (running := running_urls(home)) is not None:
            yield running
        elif has_data(home):
            with home_servers(home) as started:
                yield started
        else:
            raise MosaicError(f"{home} holds no shop to back up", "Set MOSAIC_HOME to its home.")

    with servers() as urls, _progress(steps(chosen)) as step:
        manifest = run_reporting(take_backup(urls, chosen, folder, step), "the backup")
    print(summary(manifest, folder))


@commands.command("verify-backup")
def verify_backup(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The backup's folder.")],
    service: Only = None,
    services: ServicesDir = None,
) -> None:
    """Check a backup without restoring it: every file's size and SHA-256 against the
    manifest, every dump read to its end by pg_restore, every schema revision one this
    code's migrations know. Prints one line per problem and exits with 1, or says it is
    good and exits with 0. Touches no server.
    """
    from mosaic.admin.restore import check_backup
    from mosaic.services import discover_services

    manifest, found = check_backup(folder, discover_services(services_dir(services)), service)
    for problem in found:
        print(problem)
    if found or manifest is None:
        raise typer.Exit(1)
    print(f"{folder}: good: {len(manifest.services)} service(s) from {manifest.created}")


@commands.command()
def restore(
    source: Annotated[Path, typer.Option("--from", metavar="DIR", help="The backup's folder.")],
    service: Only = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the data of the services restored in a home that has some "
            "(their databases are dropped, their kept Valkey keys deleted).",
        ),
    ] = False,
    postgres_admin_url: PostgresUrl = None,
    valkey_admin_url: ValkeyUrl = None,
    postgres_admin_url_file: PostgresUrlFile = None,
    valkey_admin_url_file: ValkeyUrlFile = None,
    passwords_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="With admin URLs: the services' passwords (the secrets.json provisioning "
            "keeps); default $MOSAIC_HOME/secrets.json.",
        ),
    ] = None,
    services: ServicesDir = None,
) -> None:
    """Restore a backup into $MOSAIC_HOME: a new home (provisioned as `mosaic up` would),
    or with --force over the data of the home's services. Refused while `mosaic up` runs
    on the home (stop it with `mosaic down`); with admin URLs (a deployment's servers),
    refused while anything is connected to a database being restored (stop its services
    first). The backup is verified first (as
    verify-backup does) and nothing is touched unless it passes. Then `mosaic up` serves
    the restored data; its release phase migrates a backup of older code to head.
    Passwords, certificates and signing keys are not in a backup: copy the old
    secrets.json and pki/ into the new home first to keep them (a new home makes new ones).
    """
    from contextlib import nullcontext

    from mosaic.admin.backing_urls import home_servers
    from mosaic.admin.backup import steps
    from mosaic.admin.restore import restore_backup, verified
    from mosaic.backing.secrets import Secrets
    from mosaic.errors import MosaicError
    from mosaic.services import discover_services
    from mosaic.state import runner_pid

    home = mosaic_home()
    known = discover_services(services_dir(services))
    manifest = verified(source, known, service)
    names = service or list(manifest.services)
    chosen = [s for s in known if s.name in names]
    given = given_urls(
        postgres_admin_url, valkey_admin_url, postgres_admin_url_file, valkey_admin_url_file
    )
    if given is None and (pid := runner_pid(home)) is not None:
        raise MosaicError(
            f"mosaic up runs on {home} (pid {pid}): refusing to restore under it",
            "Stop it with `mosaic down`, then restore.",
        )
    if given is not None and passwords_file is not None:
        secrets = Secrets(passwords_file, fixed=True)  # only read: never a new password
    else:
        secrets = Secrets(home / "secrets.json")
    servers = home_servers(home) if given is None else nullcontext(given)
    with servers as urls, _progress(steps(chosen)) as step:
        restoring = restore_backup(urls, secrets, source, chosen, force=force, step=step)
        run_reporting(restoring, "the restore")
    where = "those servers" if given else home
    print(f"Restored {', '.join(s.name for s in chosen)} into {where}; start the shop there.")


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr, advanced by each step told."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        BarColumn(bar_width=24),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task("starting", total=max(total, 1))
        started = False

        def step(what: str) -> None:
            nonlocal started
            bar.update(task, description=what, advance=1 if started else 0)
            started = True

        yield step
        bar.update(task, completed=max(total, 1), description="done")


def run_reporting(work: Coroutine[Any, Any, T], what: str) -> T:
    """Run the work; a server's refusal as one line that names it, never a traceback."""
    import asyncpg
    import redis.exceptions

    from mosaic.errors import MosaicError

    try:
        return asyncio.run(work)
    except (OSError, asyncpg.PostgresError, redis.exceptions.RedisError) as error:
        raise MosaicError(
            f"{what} failed: {type(error).__name__}: {error}",
            "Check that the servers run and the admin URLs are right; a backup folder "
            "without manifest.json is unfinished: delete it.",
        ) from None
