"""`mosaic admin ...`: the operator's commands (typer sub-app of `mosaic`)."""

import json
from pathlib import Path
from typing import Annotated

import typer

from mosaic.home import mosaic_home, services_dir

app = typer.Typer(
    help="Operate Mosaic: rotate certificates, show who may call whom, call a service by hand.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

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


@app.command(name="run")
def run_job(
    service: Annotated[str, typer.Argument(help="The service, e.g. orders.")],
    job: Annotated[str, typer.Argument(help="One of its [tool.mosaic.jobs], e.g. recover.")],
    services: ServicesDir = None,
) -> None:
    """Run one scheduled job of the running `mosaic up` now, and wait for it.

    Runs the job's command in the service's folder with the environment the runner gives
    it (the service's database, broker and callee URLs, credentials), alongside the
    scheduled runs. Its output goes to this terminal; exits with the job's exit code.
    Example: mosaic admin run orders recover
    """
    from mosaic.admin.jobs import run_now

    raise typer.Exit(run_now(mosaic_home(), services_dir(services), service, job))
