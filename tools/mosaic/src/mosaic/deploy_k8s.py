"""`mosaic deploy k8s ...`: what a Kubernetes deployment needs beyond the rendered manifests
(deploy/k8s/), made on the operator's machine. Light to import: the work is in
kubernetes_secrets.py."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mosaic.services import Service

app = typer.Typer(
    help="Kubernetes (deploy/k8s/): the Secrets and ConfigMaps its manifests name.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("secrets")
def secrets_file(
    out: Annotated[
        str,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Where to write the YAML (created 0600), or - for stdout.",
        ),
    ],
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="For deploy/k8s/overlays/dev: provision its own Postgres and Valkey, whose "
            "admin passwords are made and kept here too (Secrets postgres-admin, valkey-admin).",
        ),
    ] = False,
    postgres_admin_url: Annotated[
        str | None,
        typer.Option(
            help="postgresql://USER:PASSWORD@HOST:PORT/postgres of a user that may create roles "
            "and databases, as the provisioning Job in the cluster reaches it.",
        ),
    ] = None,
    postgres_admin_url_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="A file holding it, instead of the command line."),
    ] = None,
    valkey_admin_url: Annotated[
        str | None,
        typer.Option(
            help="redis://USER:PASSWORD@HOST:PORT of a user that may manage ACL users, as the "
            "Job reaches it.",
        ),
    ] = None,
    valkey_admin_url_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="A file holding it, instead of the command line."),
    ] = None,
    valkey_acl_policy: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="For Memorystore for Valkey, which refuses ACL commands: write every "
            "service's Valkey users (the rules provisioning sets, with the passwords the "
            "Secrets hold) to FILE (0600), a gcloud --flags-file for `gcloud memorystore "
            "acl-policies create|update mosaic`, instead of giving --valkey-admin-url. The "
            "provisioning Job then leaves Valkey alone (the GKE overlay runs it with "
            "--valkey-users external).",
        ),
    ] = None,
    postgres_host: Annotated[
        str,
        typer.Option(metavar="HOST[:PORT]", help="Where the services' pods reach Postgres."),
    ] = "postgres:5432",
    valkey_host: Annotated[
        str,
        typer.Option(metavar="HOST[:PORT]", help="Where the services' pods reach Valkey."),
    ] = "valkey:6379",
    smtp_url: Annotated[
        str | None,
        typer.Option(
            help="The mail server of the services that send mail (SMTP_URL in their "
            "<svc>-backing). "
            "Default: smtp://mailbox:1025, the dev overlay's mailbox.",
        ),
    ] = None,
    smtp_url_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="A file holding it (a relay's URL with a password)."),
    ] = None,
    namespace: Annotated[
        str, typer.Option(help="The shop's namespace (the base's: mosaic).")
    ] = "mosaic",
    state: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Where the PKI and the passwords are kept (created 0700). "
            "Default: $MOSAIC_HOME/k8s/NAMESPACE.",
        ),
    ] = None,
) -> None:
    """Write every Secret and ConfigMap the manifests name, as one YAML file.

    Per service <svc>-identity (its certificate, with its in-cluster DNS names, and keys)
    and <svc>-backing (DATABASE_URL, REDIS_URL, BROKER_URL, the edge's CSRF_SECRET, with
    the hosts of --postgres-host and --valkey-host; SMTP_URL where mail is sent); the
    ConfigMaps mosaic-ca and mosaic-trust; mosaic-provision (the admin URLs and the services'
    passwords, for the provisioning Job that makes the servers match). The PKI and the
    passwords are kept in the state folder: running it again writes the same. For
    Memorystore for Valkey, --valkey-acl-policy FILE replaces --valkey-admin-url: FILE is
    its ACL policy (docs/deploy.md, "On GKE").

    Apply it once the namespace exists (`kubectl apply -k deploy/k8s/overlays/dev` makes
    it), then delete the file (or keep it 0600):

    \b
        mosaic deploy k8s secrets --dev --out mosaic-secrets.yaml
        kubectl apply -f mosaic-secrets.yaml && rm mosaic-secrets.yaml
    """
    from mosaic import kubernetes_secrets
    from mosaic.admin.provisioning import url_from_options
    from mosaic.compose import SMTP_URL
    from mosaic.errors import UsageError
    from mosaic.home import mosaic_home, services_dir
    from mosaic.services import discover_services

    if not _is_dns_label(namespace):
        raise UsageError(
            f"--namespace: {namespace!r} is no namespace name",
            "Lower-case letters, digits and '-', at most 63.",
        )
    target = kubernetes_secrets.Target(
        namespace=namespace,
        postgres_admin_url=url_from_options(
            postgres_admin_url, postgres_admin_url_file, "--postgres-admin-url"
        ),
        valkey_admin_url=url_from_options(
            valkey_admin_url, valkey_admin_url_file, "--valkey-admin-url"
        ),
        postgres_host=postgres_host,
        valkey_host=valkey_host,
        smtp_url=url_from_options(smtp_url, smtp_url_file, "--smtp-url") or SMTP_URL,
        dev=dev,
        valkey_acl_policy=valkey_acl_policy is not None,
    )
    kubernetes_secrets.check(target)
    folder = (state or mosaic_home() / "k8s" / namespace).absolute()
    services = discover_services(services_dir(None))
    found = kubernetes_secrets.documents(services, folder, target, _say)
    text = kubernetes_secrets.text(found, namespace, folder)
    if valkey_acl_policy is not None:
        _write_policy(valkey_acl_policy.absolute(), services, folder)
    if out == "-":
        print(text, end="", flush=True)
        return
    path = Path(out).absolute()
    _write_private(path, text, "--out")
    _say(f"wrote {len(found)} Secrets and ConfigMaps to {path} (0600)")
    _say(f"apply: kubectl apply -f {path}  (then delete it, or keep it 0600)")


def _write_policy(path: Path, services: "list[Service]", state: Path) -> None:
    from mosaic import memorystore
    from mosaic.backing.secrets import Secrets

    # The passwords documents() stored, so the policy and the Secrets agree.
    text = memorystore.flags_file(services, Secrets(state / "secrets.json"))
    _write_private(path, text, "--valkey-acl-policy")
    _say(f"wrote the Valkey users' ACL policy to {path} (0600); make or change it with")
    _say(f"  gcloud memorystore acl-policies create|update {memorystore.POLICY} --location=REGION")
    _say(f"    --flags-file={path}")


def _write_private(path: Path, text: str, option: str) -> None:
    """Write a file only its owner reads (it holds passwords); a usage error if it cannot."""
    from mosaic.errors import UsageError
    from mosaic.pki.files import write_atomically

    try:
        write_atomically(path, text.encode(), private=True)
    except OSError as error:
        raise UsageError(
            f"{option}: cannot write {path}: {error.strerror or error}",
            "Give a file in a folder you may write.",
        ) from None


def _is_dns_label(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name))


def _say(line: str) -> None:
    typer.echo(line, err=True)


@app.command("task", context_settings={"allow_interspersed_args": False})
def task_job(
    service: Annotated[str, typer.Argument(metavar="SERVICE")],
    task: Annotated[str, typer.Argument(metavar="TASK")],
    arguments: Annotated[
        list[str] | None, typer.Argument(metavar="[ARGS]...", help="The task's arguments.")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            metavar="FILE",
            help="A file the task reads, shipped in a ConfigMap (at most 1 MB); an ARG "
            "naming it is pointed at its copy (repeatable). Put options before SERVICE.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="The Job's name; default SERVICE-TASK.")
    ] = None,
) -> None:
    """Print a Job that runs SERVICE's one-off TASK ([tool.mosaic.tasks]) with ARGS, from
    the service's image, with its ServiceAccount, Secrets and network policies:

    \b
        mosaic deploy k8s task --file products.csv catalog import-products products.csv \\
          | kubectl apply -f -
        kubectl -n mosaic wait --for=condition=complete job/catalog-import-products
        kubectl -n mosaic logs job/catalog-import-products
    """
    from mosaic.compose import dump_yaml
    from mosaic.errors import UsageError
    from mosaic.home import services_dir
    from mosaic.kubernetes_tasks import task_manifests
    from mosaic.services import discover_services

    known = {s.name: s for s in discover_services(services_dir(None))}
    if service not in known:
        raise UsageError(f"no service named {service!r}", f"Services: {', '.join(sorted(known))}.")
    if name is not None and not _is_dns_label(name):
        raise UsageError(f"--name: {name!r} is no Job name", "Lower-case letters, digits, '-'.")
    documents = task_manifests(known[service], task, arguments or [], file, name)
    print("---\n".join(dump_yaml(d) for d in documents), end="")


@app.command("restore")
def restore_job(
    folder: Annotated[
        str,
        typer.Argument(metavar="BACKUP", help="The backup's folder name on the claim."),
    ],
) -> None:
    """Print a Job that restores BACKUP (a folder of the claim `mosaic-backups`, e.g.
    2026-12-07T02-00-00Z) over the deployment's data with `mosaic admin restore --force`.
    Scale the services' Deployments to 0 first (it refuses while they are connected):

    \b
        kubectl -n mosaic scale deployment --all --replicas=0
        mosaic deploy k8s restore 2026-12-07T02-00-00Z | kubectl apply -f -
        kubectl -n mosaic wait --for=condition=complete job/restore --timeout=30m
        kubectl -n mosaic logs job/restore
    """
    from mosaic.compose import dump_yaml
    from mosaic.errors import UsageError
    from mosaic.kubernetes_backup import restore_job as job

    if "/" in folder or folder in {"", ".", ".."}:
        raise UsageError(f"{folder!r} is no folder name", "Give the backup's folder name only.")
    print(dump_yaml(job(folder)), end="")
