"""`mosaic contracts`: release the contracts as a baseline, and check changes against it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from mosaic.compat.check import check, report
from mosaic.compat.released import Version, release
from mosaic.errors import MosaicError
from mosaic.home import workspace_root

app = typer.Typer(
    help="The services' contracts (openapi.json, event schemas): release them, check changes.",
    no_args_is_help=True,
)
_out = Console(highlight=False, soft_wrap=True)


def verify() -> str:
    """The check as a step: raises MosaicError naming every break; says what passed."""
    version, breaks = check(workspace_root())
    if breaks:
        first, _, rest = report(version, breaks).partition("\n")
        raise MosaicError(first, output=rest)
    return f"every contract reads as the released {version} did"


@app.command("check")
def check_command() -> None:
    """Compare every contract with the newest released one (contracts/released/).

    Fails, naming the contract, the path, operation or field and the kind of change, when
    a change would break a caller of the released contracts: a removed path, operation,
    field or enum value, a new required input, a narrowed type, format or limit, a changed
    success status or media type, an event a reader of the released schema cannot read.
    """
    _out.print(verify(), markup=False)


@app.command("release")
def release_command(
    version: Annotated[str, typer.Argument(help="The release's version, e.g. v0.2.0.")],
    accept_breaks: Annotated[
        str | None,
        typer.Option(
            "--accept-breaks",
            metavar="REASON",
            help="Release although the contracts break the last release, e.g. to retire "
            "/v1 once no caller uses it; the manifest keeps the breaks and REASON.",
        ),
    ] = None,
) -> None:
    """Record every contract as released: contracts/released/VERSION/.

    Copies each service's openapi.json and event schemas, with a manifest (version, UTC
    time, git commit). Refuses a version that exists or is not newer than the last one,
    and contracts that break callers of the last release (see `mosaic contracts check`)
    unless --accept-breaks says why. Commit the new folder; the check compares every
    later change with it.
    """
    wanted = Version.parse(version)
    root = workspace_root()

    def compatible() -> list[str]:
        last, breaks = check(root)
        if breaks and accept_breaks is None:
            first, _, rest = report(last, breaks).partition("\n")
            hint = (
                "To retire an old version that no caller uses any more, say so: "
                "--accept-breaks REASON."
            )
            raise MosaicError(first, hint, output=rest)
        return [str(one) for one in sorted(breaks)]

    target = release(root, wanted, compatible=compatible, reason=accept_breaks)
    _out.print(f"released the contracts as {wanted}: {target.relative_to(root)}", markup=False)
    _out.print(f"Commit it: git add {target.relative_to(root)}", markup=False)
