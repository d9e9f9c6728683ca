"""`mosaic admin provision`: each service's role, database and ACL users on servers reached
by admin URLs, and the files a container deployment mounts.

Per service, in the output folder: `<service>.env` (VARIABLE=value lines, for compose's
`env_file`) and `<service>/<VARIABLE>` (one secret per file, for compose `secrets:` or a
Kubernetes Secret volume). Passwords live in `secrets.json` there: a second run reuses
them, so it converges the servers and rewrites the same files.
"""

from collections.abc import Callable
from pathlib import Path

from mosaic.backing.secrets import Secrets
from mosaic.backing.service_secrets import AdminUrls, provision_service
from mosaic.errors import UsageError
from mosaic.pki.files import write_atomically
from mosaic.services import Service


def chosen_services(known: list[Service], names: list[str]) -> list[Service]:
    """The services named (all with something to provision when none is)."""
    if not names:
        return [s for s in known if s.backing - {"smtp"} or s.edge]
    by_name = {s.name: s for s in known}
    if unknown := [n for n in names if n not in by_name]:
        raise UsageError(
            f"no service named {', '.join(unknown)}",
            f"Services here: {', '.join(sorted(by_name))}.",
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def prepare_folder(out: Path) -> Secrets:
    """The output folder (created its owner's only; an existing one keeps its mode: the
    files in it are 0600 anyway), and the passwords kept in it."""
    if not out.exists():
        out.mkdir(parents=True)
        out.chmod(0o700)
    return Secrets(out / "secrets.json")


async def provision_all(
    services: list[Service], admin: AdminUrls, out: Path, echo: Callable[[str], None]
) -> None:
    secrets = prepare_folder(out)
    for service in services:
        values = await provision_service(service, admin, secrets, note=echo)
        if values:
            echo(f"{service.name}: wrote {write_service_files(out, service.name, values)}")
        else:
            echo(f"{service.name}: uses no backing service, nothing to write")


def write_service_files(out: Path, service: str, values: dict[str, str]) -> str:
    """`<service>.env` and `<service>/<VARIABLE>`, each 0600 and replaced atomically."""
    env_file = out / f"{service}.env"
    env_text = "".join(f"{k}={v}\n" for k, v in sorted(values.items()))
    write_atomically(env_file, env_text.encode(), private=True)
    folder = out / service
    folder.mkdir(mode=0o700, exist_ok=True)
    for variable, value in values.items():
        write_atomically(folder / variable, value.encode(), private=True)
    return f"{env_file} and {folder}/{{{','.join(sorted(values))}}}"
