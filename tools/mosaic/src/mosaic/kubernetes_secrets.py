"""What `mosaic deploy k8s secrets` writes: every Secret and ConfigMap the Kubernetes manifests
name but never hold, made on the operator's machine from a state folder kept there.

The state folder (0700; by default $MOSAIC_HOME/k8s/<namespace>) keeps

    pki/           the CA, each service's certificate and keys (the dev PKI of `mosaic up`
                   and compose), each certificate also naming the service as pods dial it:
                   <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local
    secrets.json   every password, in `mosaic admin provision`'s format (postgres/<svc>,
                   valkey/<svc>, broker/<svc>, csrf/<svc>; the dev servers' */admin)

so running it again gives the same passwords and certificates (a certificate within 7 days
of its expiry is renewed, as under `mosaic up`). The provisioning Job then makes the servers
match: it gets the admin URLs and the services' passwords in `mosaic-provision`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaic import kubernetes_provision as provision
from mosaic.backing.secrets import Secrets
from mosaic.backing.service_secrets import (
    POSTGRES_SCHEMES,
    VALKEY_SCHEMES,
    AdminUrls,
    check_address,
    check_admin_url,
    service_values,
)
from mosaic.compose import POSTGRES_PORT, VALKEY_PORT, dump_yaml
from mosaic.containers import has_secrets
from mosaic.errors import MosaicError, UsageError
from mosaic.kubernetes import cluster_names
from mosaic.kubernetes_pods import (
    CA_CONFIG,
    PART_OF,
    TRUST_CONFIG,
    backing_secret,
    identity_secret,
)
from mosaic.kubernetes_servers import PASSWORD_SERVERS, admin_secret, password_key
from mosaic.pki import ensure_pki
from mosaic.pki.files import Pki
from mosaic.services import OPERATOR, Service


@dataclass(frozen=True)
class Target:
    """The cluster's side: its namespace, where its servers are, its mail server."""

    namespace: str
    postgres_admin_url: str | None  # as the provisioning Job reaches it
    valkey_admin_url: str | None
    postgres_host: str  # HOST[:PORT] as the services reach it
    valkey_host: str
    smtp_url: str
    dev: bool  # the dev overlay's own servers: their admin passwords are made here
    # The Valkey users come from a Memorystore ACL policy (memorystore.py) written beside
    # the Secrets: no Valkey admin URL, and the Job provisions with --valkey-users external.
    valkey_acl_policy: bool = False


def dns_names(namespace: str) -> Callable[[str], list[str]]:
    """A service's names in the cluster: what its callers may dial, short or qualified."""

    def names(service: str) -> list[str]:
        if service == OPERATOR:  # no pod: its certificate is for `mosaic admin call`
            return []
        return cluster_names(service, namespace)

    return names


def documents(
    services: list[Service], state: Path, target: Target, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Every Secret and ConfigMap, in the order `kubectl apply -f` makes them."""
    _check_admin_urls(services, target)
    _prepare(state)
    secrets = Secrets(state / "secrets.json")
    admin = _admin_urls(services, target, secrets)
    names = [s.name for s in services]
    try:
        issued = ensure_pki(state, [*names, OPERATOR], dns_names=dns_names(target.namespace))
    except OSError as error:
        raise _unwritable(state, error) from None
    for item in issued:
        say(f"issued the {item.describe()}")
    pki = Pki.of(state)
    made = _Namespace(target.namespace)
    found = [
        made.config(CA_CONFIG, {"ca.crt": pki.ca_cert.read_text()}),
        made.config(TRUST_CONFIG, _trust(pki, [*names, OPERATOR])),
    ]
    backing = {s.name: _backing(s, admin, secrets, target) for s in services}
    passwords = {k: v for k, v in secrets.stored().items() if _job_needs(k, target)}
    keys = {provision.admin_url_key(server): url for server, url in _by_server(admin).items()}
    keys[provision.PASSWORDS] = json.dumps(passwords, indent=2, sort_keys=True) + "\n"
    found.append(made.secret(provision.SECRET, keys))
    if target.dev:
        for server in PASSWORD_SERVERS:
            password = secrets.password(f"{server}/admin")
            found.append(made.secret(admin_secret(server), {password_key(server): password}))
    for service in services:
        files = pki.service(service.name)
        identity = {
            "tls.crt": files.cert.read_text(),
            "tls.key": files.key.read_text(),
            "signing.key": files.signing_key.read_text(),
        }
        found.append(made.secret(identity_secret(service.name), identity))
        if backing[service.name]:
            found.append(made.secret(backing_secret(service.name), backing[service.name]))
    return found


def check(target: Target) -> None:
    """A usage error for what no cluster could use, before anything is made."""
    for option, address in (
        ("--postgres-host", target.postgres_host),
        ("--valkey-host", target.valkey_host),
    ):
        try:
            check_address(address)
        except UsageError as error:
            raise UsageError(f"{option}: {error.message}", error.hint) from None
    if target.dev and (target.postgres_admin_url or target.valkey_admin_url):
        raise UsageError(
            "give --dev or admin URLs, not both",
            "--dev makes the admin passwords of the dev overlay's own servers; admin URLs "
            "name servers of your own (Cloud SQL, Memorystore, ...).",
        )
    if target.valkey_acl_policy and (target.dev or target.valkey_admin_url):
        raise UsageError(
            "give --valkey-acl-policy or --dev or --valkey-admin-url, not two of them",
            "--valkey-acl-policy is for Memorystore for Valkey, which refuses ACL commands: "
            "its users come from the policy file instead of an admin URL.",
        )
    if target.postgres_admin_url is not None:
        check_admin_url(target.postgres_admin_url, POSTGRES_SCHEMES, "--postgres-admin-url")
    if target.valkey_admin_url is not None:
        check_admin_url(target.valkey_admin_url, VALKEY_SCHEMES, "--valkey-admin-url")
    if not target.smtp_url.startswith(("smtp://", "smtps://")):
        raise UsageError(
            "--smtp-url: not an smtp:// or smtps:// URL", "For example: smtp://mailbox:1025"
        )


def _admin_urls(services: list[Service], target: Target, secrets: Secrets) -> AdminUrls:
    """Where the Job provisions: the dev overlay's servers (Services `postgres`, `valkey`)
    with the admin passwords kept here, or the admin URLs given."""
    postgres, valkey = target.postgres_admin_url, target.valkey_admin_url
    if target.dev:
        from mosaic.backing.postgres import ADMIN_ROLE
        from mosaic.backing.valkey import ADMIN_USER

        password = secrets.password("postgres/admin")
        postgres = f"postgresql://{ADMIN_ROLE}:{password}@postgres:{POSTGRES_PORT}/postgres"
        valkey = f"redis://{ADMIN_USER}:{secrets.password('valkey/admin')}@valkey:{VALKEY_PORT}/0"
    return AdminUrls(
        postgres, valkey, target.postgres_host, target.valkey_host, target.valkey_acl_policy
    )


def _job_needs(password: str, target: Target) -> bool:
    """The passwords the provisioning Job gets: not the dev servers' admin passwords (their
    own Secrets), nor the Valkey users' where a policy sets them (the Job never meets them)."""
    if password.endswith("/admin"):
        return False
    return not (target.valkey_acl_policy and password.startswith(("valkey/", "broker/")))


def _check_admin_urls(services: list[Service], target: Target) -> None:
    if target.dev:
        return
    given = {"postgres": target.postgres_admin_url, "valkey": target.valkey_admin_url}
    for server in provision.admin_servers(services):
        if server == "valkey" and target.valkey_acl_policy:
            continue
        if given[server] is None:
            raise UsageError(
                f"no admin URL for {server.capitalize()}, which the services use",
                f"Give --{server}-admin-url (or --{server}-admin-url-file) as the cluster "
                f"reaches your server, or --dev for the dev overlay's own {server}"
                + (" (or --valkey-acl-policy for Memorystore)." if server == "valkey" else "."),
            )


def _backing(
    service: Service, admin: AdminUrls, secrets: Secrets, target: Target
) -> dict[str, str]:
    """Its `<svc>-backing` Secret: secret_variables(service), by name."""
    values = service_values(service, admin, secrets) if has_secrets(service) else {}
    if "smtp" in service.backing:
        values["SMTP_URL"] = target.smtp_url
    return values


def _by_server(admin: AdminUrls) -> dict[str, str]:
    found = {"postgres": admin.postgres, "valkey": admin.valkey}
    return {server: url for server, url in found.items() if url is not None}


def _trust(pki: Pki, names: list[str]) -> dict[str, str]:
    return {f"{name}.pub": pki.service(name).public_key.read_text() for name in names}


def _prepare(state: Path) -> None:
    try:
        state.mkdir(parents=True, exist_ok=True)
        state.chmod(0o700)  # it holds the CA's key and every password
    except OSError as error:
        raise _unwritable(state, error) from None


def _unwritable(state: Path, error: OSError) -> MosaicError:
    return UsageError(
        f"cannot keep the state in {state}: {error.strerror or error}",
        "Give --state a folder you may write (it holds the CA's key and every password).",
    )


@dataclass(frozen=True)
class _Namespace:
    """Makes the documents of one namespace."""

    namespace: str

    def _meta(self, name: str) -> dict[str, Any]:
        return {"name": name, "namespace": self.namespace, "labels": dict(PART_OF)}

    def config(self, name: str, data: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self._meta(name), "data": data}

    def secret(self, name: str, data: dict[str, str]) -> dict[str, Any]:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self._meta(name),
            "type": "Opaque",
            "data": encoded,
        }


HEADER = """\
# Secrets and ConfigMaps of Mosaic in namespace {namespace}, made by `mosaic deploy k8s
# secrets` from {state}: passwords and private keys. Apply with `kubectl apply -f FILE`,
# then delete this file (running the command again writes the same) or keep it 0600.
"""


def text(found: list[dict[str, Any]], namespace: str, state: Path) -> str:
    header = HEADER.format(namespace=namespace, state=state)
    return header + "---\n".join(dump_yaml(d) for d in found)
