"""`mosaic serve ...`: the backing servers and the dev mailbox as one process each, for
containers (non-root, read-only root filesystem, only the data folder writable).

Postgres and Valkey are the same embedded servers `mosaic up` runs, with the same
configuration; the command prepares the data folder and then replaces itself with the
server (exec), so the server is PID 1 in its container and gets the stop signal itself.
"""

import os
import pwd
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from mosaic.errors import MosaicError

if TYPE_CHECKING:  # `mosaic status` and friends import this module; keep it light
    from mosaic.backing.postgres import EmbeddedPostgres
    from mosaic.backing.valkey import EmbeddedValkey
    from mosaic.children import Command

app = typer.Typer(
    help="Run one backing server or the dev mailbox in the foreground (for containers).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Host = Annotated[
    str,
    typer.Option(help="Address to listen on: 0.0.0.0 in a container, loopback elsewhere."),
]
Data = Annotated[
    Path,
    typer.Option(
        "--data",
        metavar="DIR",
        help="The server's data folder (created on first start; its parent must be writable).",
    ),
]
PasswordFile = Annotated[
    Path,
    typer.Option("--password-file", metavar="FILE", help="The admin's password (one line)."),
]


@app.command()
def postgres(
    data: Data,
    password_file: PasswordFile,
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 5432,
) -> None:
    """Run Postgres on DIR: initdb on first start (admin role `postgres`, scram-sha-256
    logins, over TCP only), then the server in this process. SIGINT is its fast shutdown,
    SIGTERM its smart one (waits for sessions to end)."""
    from mosaic.backing.postgres import EmbeddedPostgres

    _serve(EmbeddedPostgres, data, password_file, port, host)


@app.command()
def valkey(
    data: Data,
    password_file: PasswordFile,
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 6379,
) -> None:
    """Run Valkey on DIR: its configuration, ACL file (user `admin`; services' users as
    provisioning saved them), append-only file and snapshots all live there. SIGTERM
    saves and stops it."""
    from mosaic.backing.valkey import EmbeddedValkey

    _serve(EmbeddedValkey, data, password_file, port, host)


def _serve(
    server_type: "type[EmbeddedPostgres | EmbeddedValkey]",
    data: Path,
    password_file: Path,
    port: int,
    host: str,
) -> None:
    """Prepare the server's data folder, then become the server (exec)."""
    from mosaic.backing.secrets import read_secret_file

    password = read_secret_file(password_file, "--password-file")
    server = server_type(data.absolute(), password, port, host)
    _prepare(server.prepare, data)
    _exec(server.command())


@app.command()
def mailbox(
    folder: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="Where the mail is kept (.eml files).")
    ],
    host: Host = "127.0.0.1",
    smtp_port: Annotated[int, typer.Option(help="Port of the SMTP sink.", min=1, max=65535)] = 1025,
    port: Annotated[int, typer.Option(help="Port of the mailbox page.", min=1, max=65535)] = 8025,
) -> None:
    """Run the dev SMTP sink and its mailbox page (as `mosaic up` does): every mail is
    kept under DIR, nothing is delivered. SIGTERM or SIGINT stops it."""
    import asyncio

    try:
        folder.mkdir(parents=True, exist_ok=True)  # fail now, not at the first mail
    except OSError as error:
        raise MosaicError(f"cannot keep mail in {folder}: {error}") from None
    asyncio.run(_serve_mailbox(folder.absolute(), host, smtp_port, port))


async def _serve_mailbox(folder: Path, host: str, smtp_port: int, port: int) -> None:
    import asyncio
    import signal

    from mosaic.mailbox import Mailbox, server_port, start_smtp_sink
    from mosaic.mailpage import start_mail_page

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    box = Mailbox(folder)
    try:
        sink = await start_smtp_sink(box, smtp_port, host=host)
        page, page_port = await start_mail_page(box, port, host)
    except OSError as error:
        raise MosaicError(f"cannot listen on {host}: {error}") from None
    print(
        f"Mailbox: SMTP on {host}:{server_port(sink)}, page on http://{host}:{page_port}/, "
        f"mail in {folder}",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        sink.close()
        await sink.wait_closed()
        await page.cleanup()


def _prepare(prepare: Callable[[], None], data: Path) -> None:
    try:
        prepare()
    except OSError as error:  # no permission, a read-only filesystem
        raise MosaicError(
            f"cannot write the data folder {data}: {error}",
            "Mount a writable volume at its parent folder, owned by the user this runs as.",
        ) from None


def _exec(command: "Command") -> NoReturn:
    """Become the server: same PID, same stdout and stderr, its own stop signal handling."""
    if command.user is not None:  # as root: Postgres refuses root, so its OS user
        entry = pwd.getpwnam(command.user)
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    os.chdir("/")  # wherever this was started may be closed to that user
    sys.stdout.flush()
    sys.stderr.flush()
    argv = list(command.argv)
    env = dict(command.env) if command.env is not None else dict(os.environ)
    os.execvpe(argv[0], argv, env)  # noqa: S606 (our own argv, no shell involved)
