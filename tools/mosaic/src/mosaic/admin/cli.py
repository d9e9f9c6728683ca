"""`mosaic admin ...`: the operator's commands (typer sub-app of `mosaic`).

Long because it holds the operator's nine commands, each its options and help; the work
lives in sibling modules.
"""

import json
from pathlib import Path
from typing import Annotated

import typer

from mosaic.admin.backup_cli import commands as backup_commands
from mosaic.admin.backup_job_cli import commands as backup_job_commands
from mosaic.admin.job_runs_cli import commands as job_commands
from mosaic.home import mosaic_home, services_dir

app = typer.Typer(
    help="Operate Mosaic: rotate certificates, show who may call whom, call a service by hand.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

app.registered_commands += backup_commands.registered_commands  # backup, restore, verify
app.registered_commands += backup_job_commands.registered_commands  # backup-job
app.registered_commands += job_commands.registered_commands  # jobs

ServicesDir = Annotated[
    Path | None, typer.Option("--services-dir", hidden=True, envvar="MOSAIC_SERVICES_DIR")
]


@app.command("rotate-certs")
def rotate_certs(
    signing_keys: Annotated[
        bool,
        typer.Option(
            "--signing-keys",
            help="Also new token signing keys: the new public keys are trusted first, "
            "then the services switch to the new private keys.",
        ),
    ] = False,
    services: ServicesDir = None,
) -> None:
    """Re-issue every service's certificate and key, signed by the same local CA.

    Works on $MOSAIC_HOME whether `mosaic up` runs or not. Running services notice the new
    files within a few seconds and use them for new connections; nothing restarts and no
    request fails. Prints each identity with its new serial number and expiry.
    """
    from mosaic.admin.rotation import rotate_certs as rotate
    from mosaic.services import discover_services

    rotate(mosaic_home(), discover_services(services_dir(services)), signing_keys=signing_keys)


@app.command()
def policy(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Exit with 1 when calls and allowlists disagree.")
    ] = False,
    services: ServicesDir = None,
) -> None:
    """Show who may call which route of which service, as declared in the code.

    Reads the routers each service names in its pyproject.toml (`[tool.mosaic] api`) and
    the allowlist of every route (`callers(...)`), prints them with the edges of the
    service graph (caller -> callee), and warns where `[tool.mosaic] calls` and the
    allowlists disagree. --json: {"services": {NAME: {"routes": [{"method", "path",
    "callers"}]}}, "edges": [{"from", "to"}], "warnings": [...]}.
    """
    from rich.console import Console

    from mosaic.admin.policy import collect_policy, print_policy
    from mosaic.services import discover_services

    found = collect_policy(discover_services(services_dir(services)))
    if as_json:
        print(json.dumps(found.as_json(), indent=2))
    else:
        print_policy(found, Console(highlight=False, soft_wrap=True))
    if strict and found.warnings:
        raise typer.Exit(1)


@app.command()
def provision(
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder for the secret files (created 0700; keep it private)."),
    ],
    postgres_admin_url: Annotated[
        str | None,
        typer.Option(
            envvar="MOSAIC_POSTGRES_ADMIN_URL",
            help="postgresql://USER:PASSWORD@HOST:PORT/postgres of a user that may create "
            "roles and databases.",
        ),
    ] = None,
    valkey_admin_url: Annotated[
        str | None,
        typer.Option(
            envvar="MOSAIC_VALKEY_ADMIN_URL",
            help="redis://USER:PASSWORD@HOST:PORT of a user that may manage ACL users.",
        ),
    ] = None,
    postgres_admin_url_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A file holding the Postgres admin URL, instead of --postgres-admin-url "
            "(keeps the password out of the command line).",
        ),
    ] = None,
    valkey_admin_url_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A file holding the Valkey admin URL, instead of --valkey-admin-url.",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Keep trying a server that does not accept connections yet (one still "
            "starting) for up to SECONDS; a refused password still fails at once.",
            min=0,
        ),
    ] = 0,
    postgres_host: Annotated[
        str | None,
        typer.Option(
            metavar="HOST[:PORT]",
            help="Where the services reach Postgres, if not where the admin URL does "
            "(e.g. postgres:5432 inside compose).",
        ),
    ] = None,
    valkey_host: Annotated[
        str | None,
        typer.Option(
            metavar="HOST[:PORT]",
            help="Where the services reach Valkey, if not where the admin URL does.",
        ),
    ] = None,
    passwords_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Take every service's password from FILE (a secrets.json, as `mosaic deploy "
            "k8s secrets` keeps it) instead of DIR/secrets.json, and never make one up: the "
            "servers are converged to the passwords Secrets already hold.",
        ),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service", metavar="SERVICE", help="Only this service (repeatable); default: all."
        ),
    ] = None,
    valkey_users: Annotated[
        str,
        typer.Option(
            metavar="provision|external",
            help="provision: make the services' Valkey users with ACL SETUSER. external: they "
            "are managed outside (Memorystore for Valkey refuses ACL commands; its ACL policy "
            "is written by `mosaic deploy k8s secrets --valkey-acl-policy FILE`): Valkey is "
            "never connected to, and the URLs are written from --valkey-admin-url or "
            "--valkey-host when given.",
        ),
    ] = "provision",
    services: ServicesDir = None,
) -> None:
    """Give each service its Postgres role and database, its Valkey and broker users, and
    write the files a container deployment mounts.

    The same code `mosaic up` runs on every start, for servers reached by admin URLs
    (compose, Kubernetes, managed Postgres and Valkey). Idempotent: passwords are generated
    once and kept in OUT/secrets.json; running it again converges the servers to them and
    rewrites the same files. Per service: OUT/SERVICE.env (DATABASE_URL, REDIS_URL,
    BROKER_URL, CSRF_SECRET for the edge) and OUT/SERVICE/VARIABLE, one value per file; all
    mode 0600, each replaced atomically. In a container, give the admin URLs as files
    (--postgres-admin-url-file) and --wait for servers that start beside it.
    """
    import asyncio
    from dataclasses import replace

    from mosaic.admin.provisioning import (
        chosen_services,
        provision_all,
        url_from_options,
        wait_for_servers,
    )
    from mosaic.backing.service_secrets import (
        POSTGRES_SCHEMES,
        VALKEY_SCHEMES,
        AdminUrls,
        check_address,
        check_admin_url,
    )
    from mosaic.errors import UsageError
    from mosaic.services import discover_services

    postgres_admin_url = url_from_options(
        postgres_admin_url, postgres_admin_url_file, "--postgres-admin-url"
    )
    valkey_admin_url = url_from_options(
        valkey_admin_url, valkey_admin_url_file, "--valkey-admin-url"
    )
    if postgres_admin_url is not None:
        check_admin_url(postgres_admin_url, POSTGRES_SCHEMES, "--postgres-admin-url")
    if valkey_admin_url is not None:
        check_admin_url(valkey_admin_url, VALKEY_SCHEMES, "--valkey-admin-url")
    for address in (postgres_host, valkey_host):
        if address is not None:
            check_address(address)
    if passwords_file is not None and not passwords_file.is_file():
        raise UsageError(
            f"--passwords-file: no file at {passwords_file}",
            "Give the secrets.json `mosaic deploy k8s secrets` keeps (in Kubernetes, the "
            "mosaic-provision Secret's passwords.json).",
        )
    if valkey_users not in ("provision", "external"):
        raise UsageError(
            f"--valkey-users: {valkey_users!r} is neither provision nor external",
            "external where the Valkey users come from elsewhere (a Memorystore ACL policy).",
        )
    chosen = chosen_services(discover_services(services_dir(services)), service or [])
    external = valkey_users == "external"
    admin = AdminUrls(postgres_admin_url, valkey_admin_url, postgres_host, valkey_host, external)

    def echo(line: str) -> None:
        print(line, flush=True)

    async def provision_when_ready() -> None:
        # With the users managed outside, nothing connects to Valkey: nothing to wait for.
        waited = replace(admin, valkey=None) if external else admin
        await wait_for_servers(waited, wait, echo)
        await provision_all(chosen, admin, out.absolute(), echo, passwords_file)

    asyncio.run(provision_when_ready())
    print(f"Provisioned {len(chosen)} service(s); secrets in {out.absolute()}")


@app.command(name="call")
def call_service(
    service: Annotated[str, typer.Argument(help="The service to call, e.g. catalog.")],
    path: Annotated[str, typer.Argument(help="The path, e.g. /v1/products?page=2.")],
    method: Annotated[str, typer.Option("--method", "-X", help="The HTTP method.")] = "GET",
    data: Annotated[
        str | None, typer.Option("--data", "-d", help='A JSON body, e.g. \'{"name": "Mug"}\'.')
    ] = None,
    caller: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Call as this service (or `admin`, the operator). Default: the first "
            "caller the route's allowlist names.",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show the response headers.")
    ] = False,
    services: ServicesDir = None,
) -> None:
    """Call a service of the running `mosaic up` by hand, with the dev certificates.

    Presents the caller's client certificate (mTLS, TLS 1.3) and a service token signed
    with the caller's key (x-service-token: iss=caller, aud=SERVICE, 60 s), exactly as
    services call each other. Prints the status (and headers with -v) on stderr and the
    body, pretty-printed, on stdout. Exits with 1 when the status is 400 or above.
    Example: mosaic admin call catalog /v1/products
    """
    from mosaic.admin.call import Request, call
    from mosaic.errors import UsageError
    from mosaic.services import discover_services

    if not path.startswith("/"):
        raise UsageError(f"PATH must start with /, e.g. /{path}")
    known = discover_services(services_dir(services))
    target = next((s for s in known if s.name == service), None)
    if target is None:
        raise UsageError(
            f"no service named {service!r}",
            f"Services here: {', '.join(sorted(s.name for s in known))}.",
        )
    request = Request(target, path, method.upper(), data, caller)
    raise typer.Exit(call(mosaic_home(), known, request, verbose))


@app.command(name="token")
def service_token(
    service: Annotated[
        str, typer.Argument(help="The service the token is for (its audience), e.g. catalog.")
    ],
    caller: Annotated[
        str,
        typer.Option("--as", help="Sign as this identity: `admin` (the operator) or a service."),
    ] = "admin",
    services: ServicesDir = None,
) -> None:
    """Print a service token (x-service-token, valid 60 s) signed with the caller's key
    under $MOSAIC_HOME/pki, for a call `mosaic admin call` cannot make: on Cloud Run, the
    operator sends it with curl beside a Google ID token (docs/deploy.md, "On Cloud Run").
    Example: curl -H "x-service-token: $(mosaic admin token catalog)" ...
    """
    from mosaic.errors import MosaicError, UsageError
    from mosaic.pki import Pki, load_signing_key, sign_token
    from mosaic.services import OPERATOR, discover_services

    known = {s.name for s in discover_services(services_dir(services))}
    if service not in known:
        raise UsageError(
            f"no service named {service!r}", f"Services here: {', '.join(sorted(known))}."
        )
    if caller not in known | {OPERATOR}:
        raise UsageError(
            f"--as {caller}: no such identity",
            f"Sign as one of: {', '.join(sorted(known | {OPERATOR}))}.",
        )
    pki = Pki.of(mosaic_home())
    key_file = pki.service(caller).signing_key
    if not key_file.is_file():
        raise MosaicError(
            f"no signing key for {caller} at {key_file}",
            "Point MOSAIC_HOME at the home whose PKI the services trust.",
        )
    print(sign_token(load_signing_key(key_file), issuer=caller, audience=service))


@app.command(
    name="run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def run_task(
    service: Annotated[str, typer.Argument(help="The service, e.g. catalog.")],
    task: Annotated[
        str,
        typer.Argument(
            help="One of its [tool.mosaic.tasks] (e.g. import-products) or [tool.mosaic.jobs] "
            "(e.g. recover)."
        ),
    ],
    arguments: Annotated[
        list[str] | None,
        typer.Argument(help="Passed on to the task's command as they are.", show_default=False),
    ] = None,
    services: ServicesDir = None,
) -> None:
    """Run a one-off task, or one scheduled job, of the running `mosaic up` now, and wait.

    Runs its command with ARGS after it and the environment the runner gives the service
    (its database, cache, broker and callee URLs, credentials), alongside the running
    processes. A task runs in this folder (files it is given are read from here), a job in
    its service's folder. Output goes to this terminal; exits with the command's exit code.
    Put `--` before ARGS that look like this command's own options (--help).
    Examples: mosaic admin run catalog import-products products.csv --skip-bad;
    mosaic admin run catalog export-products --out products.csv; mosaic admin run orders
    recover
    """
    from mosaic.admin.jobs import run_now

    code = run_now(mosaic_home(), services_dir(services), service, task, arguments or [])
    raise typer.Exit(code)


dead_letters = typer.Typer(
    help="List and replay the events the shop set aside because it could not handle them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(dead_letters, name="dead-letters")

RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        envvar="MOSAIC_REDIS_URL",
        help="Admin URL of the broker, when `mosaic up` uses an external one.",
    ),
]
Stream = Annotated[
    str | None,
    typer.Option("--stream", help="Only this producer's dead letters, e.g. orders."),
]


@dead_letters.command("list")
def list_dead_letters(
    stream: Stream = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    redis_url: RedisUrl = None,
    services: ServicesDir = None,
) -> None:
    """Show the dead letters, oldest first, and the outbox events a relay set aside.

    A dead letter (events:<producer>:dead) is an event a consumer gave up on: after
    MAX_DELIVERIES failed deliveries, or at once when it can never handle it (a version it
    does not know, malformed data). Shown: its id, the stream and group, the event's type,
    version and id (not its data: it holds a shopper's address), deliveries and reason.
    An outbox event set aside is one a producer's relay could not publish (RELAY_MAX_ATTEMPTS).
    --json: {"dead_letters": [...], "outbox": [...]}.
    """
    from mosaic.admin.dead_letters import (
        admin_broker_url,
        consumed_producers,
        list_letters,
        outbox_rows,
    )
    from mosaic.admin.dead_letters import as_json as letter_json
    from mosaic.services import discover_services

    home = mosaic_home()
    known = discover_services(services_dir(services))
    producers = consumed_producers(known, stream)
    letters = list_letters(admin_broker_url(home, redis_url), producers)
    outbox = [
        row for service in known if service.name in producers for row in outbox_rows(home, service)
    ]
    if as_json:
        print(json.dumps({"dead_letters": [letter_json(x) for x in letters], "outbox": outbox}))
        return
    if not letters and not outbox:
        print("No dead letters, no outbox events set aside.")
    for x in letters:
        print(
            f"{x.id}  {x.stream} -> {x.group}  {x.event_type} v{x.event_version}"
            f"  event {x.event_id}  deliveries {x.deliveries}  {x.dead_at}\n    {x.reason}"
        )
    for row in outbox:
        print(
            f"outbox of {row['service']}: {row['event_id']}  {row['type']} v{row['version']}"
            + (f"  order {row['order_id']}" if row.get("order_id") else "")
            + f"  attempts {row['attempts']}\n    {row['last_error']}"
        )


@dead_letters.command("replay")
def replay_dead_letters(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Dead letter ids (from `list`); none: all.")
    ] = None,
    stream: Stream = None,
    redis_url: RedisUrl = None,
    services: ServicesDir = None,
) -> None:
    """Put dead letters back onto the stream they came from, and delete them.

    Every consumer group of that stream gets the event again; consumers dedupe by event
    id, so a group that had handled it does nothing. Replay once the cause is fixed (a
    consumer that now reads that version, a mail server back): a letter that fails again
    comes back here. Prints each replayed letter's id.
    """
    from mosaic.admin.dead_letters import admin_broker_url, consumed_producers, replay
    from mosaic.services import discover_services

    producers = consumed_producers(discover_services(services_dir(services)), stream)
    done = replay(admin_broker_url(mosaic_home(), redis_url), producers, ids or [])
    for letter in done:
        print(f"replayed {letter.id} onto {letter.stream} (event {letter.event_id})")
    if not done:
        print("Nothing to replay.")


@dead_letters.command("retry-outbox")
def retry_outbox(
    service: Annotated[str, typer.Argument(help="The producer, e.g. orders.")],
    event_id: Annotated[str, typer.Argument(help="The outbox event's id, or all.")],
    services: ServicesDir = None,
) -> None:
    """Give outbox events a relay set aside back to it (their attempts start from zero).

    Fix the cause first (the row, or the relay's code): an event that fails again is set
    aside again after RELAY_MAX_ATTEMPTS. Prints what is still set aside afterwards.
    """
    from mosaic.admin.dead_letters import outbox_rows
    from mosaic.errors import UsageError
    from mosaic.services import discover_services

    known = {s.name: s for s in discover_services(services_dir(services))}
    target = known.get(service)
    if target is None or target.outbox is None:
        having = ", ".join(n for n, s in known.items() if s.outbox) or "none"
        raise UsageError(f"{service!r} has no outbox job", f"Services with one: {having}.")
    left = outbox_rows(mosaic_home(), target, retry=event_id)
    print(f"{len(left)} outbox event(s) of {service} still set aside.")
