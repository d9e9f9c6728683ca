"""The provisioning Job of deploy/k8s/base (base/provision.yaml): `mosaic admin provision`
from the tools image, against the admin URLs of the Secret `mosaic-provision`, converging
the servers to the passwords the services' Secrets already hold.

`mosaic deploy k8s secrets` writes every service's `<svc>-backing` Secret on the operator's
machine, URLs and passwords included, and `mosaic-provision` beside it: the admin URLs and
those same passwords (`passwords.json`). The Job only makes the servers match them
(`--passwords-file`: it never makes a password up); what it writes goes to an emptyDir and
is dropped. So no pod needs the Kubernetes API, and the Job needs no ServiceAccount token.

A Job's pod template is immutable and it runs once: to run it again (a new service, a
server that lost its users), delete it and apply again; it also deletes itself an hour
after it finished, and the next `kubectl apply -k` makes it anew (provisioning converges,
so a run too many changes nothing).
"""

from __future__ import annotations

from typing import Any

from mosaic.images import REGISTRY, TOOLS
from mosaic.kubernetes_pods import (
    CONTAINER_SECURITY,
    PART_OF,
    RESOURCES,
    TAG,
    TMP_MOUNT,
    TMP_VOLUME,
    restricted_pod,
)
from mosaic.services import Service

PROVISION = "provision"  # the Job, its ServiceAccount and its pod's name label
SECRET = "mosaic-provision"  # noqa: S105 - the name of a Secret
ADMIN_DIR = "/run/mosaic/admin"
PASSWORDS = "passwords.json"  # the services' passwords, as secrets.json holds them
SERVICES_DIR = "/app/services"  # the services' [tool.mosaic] tables, in the tools image
WAIT_SECONDS = 120  # for servers still starting beside it (the dev overlay's StatefulSets)


def admin_url_key(server: str) -> str:
    return f"{server}-admin-url"


def admin_servers(services: list[Service]) -> list[str]:
    """The servers provisioning reaches: Postgres and Valkey, if any service uses them."""
    uses = {"postgres": {"postgres"}, "valkey": {"valkey", "broker"}}
    return [name for name, backing in uses.items() if any(backing & s.backing for s in services)]


def secret_keys(services: list[Service], valkey_external: bool = False) -> list[str]:
    """The keys of `mosaic-provision` the Job reads (no Valkey admin URL where the Valkey
    users are managed outside: a Memorystore ACL policy, see memorystore.py)."""
    return [*(admin_url_key(s) for s in _provisioned(services, valkey_external)), PASSWORDS]


def _provisioned(services: list[Service], valkey_external: bool) -> list[str]:
    """The servers the Job provisions, each through its admin URL."""
    return [s for s in admin_servers(services) if not (valkey_external and s == "valkey")]


def command(services: list[Service], valkey_external: bool = False) -> list[str]:
    """The Job's command: the base's, or the GKE overlay's with `--valkey-users external`."""
    argv = ["mosaic", "admin", "provision"]
    for server in _provisioned(services, valkey_external):
        argv += [f"--{server}-admin-url-file", f"{ADMIN_DIR}/{admin_url_key(server)}"]
    if valkey_external:
        argv += ["--valkey-users", "external"]
    argv += ["--passwords-file", f"{ADMIN_DIR}/{PASSWORDS}", "--out", "/out"]
    return [*argv, "--wait", str(WAIT_SECONDS)]


def secret_items(services: list[Service], valkey_external: bool = False) -> list[dict[str, str]]:
    """What the Job mounts of `mosaic-provision`: a key it names but the Secret lacks would
    keep its pod from starting."""
    return [{"key": key, "path": key} for key in secret_keys(services, valkey_external)]


def labels() -> dict[str, str]:
    return {
        "app.kubernetes.io/name": PROVISION,
        "app.kubernetes.io/component": PROVISION,
        **PART_OF,
    }


def manifests(services: list[Service]) -> list[dict[str, Any]]:
    """Its ServiceAccount (no API token) and the Job."""
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": PROVISION, "labels": labels()},
        "automountServiceAccountToken": False,
    }
    return [account, _job(services)]


def _job(services: list[Service]) -> dict[str, Any]:
    container = {
        "name": PROVISION,
        "image": f"{REGISTRY}/{TOOLS}:{TAG}",
        "command": command(services),
        "env": [{"name": "MOSAIC_SERVICES_DIR", "value": SERVICES_DIR}],
        "resources": RESOURCES,
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [
            TMP_MOUNT,
            {"name": "out", "mountPath": "/out"},
            {"name": "admin", "mountPath": ADMIN_DIR, "readOnly": True},
        ],
    }
    items = secret_items(services)
    volumes = [
        TMP_VOLUME,
        # What provision writes: the Secrets hold it already, so it is dropped with the pod.
        {"name": "out", "emptyDir": {"sizeLimit": "16Mi"}},
        {"name": "admin", "secret": {"secretName": SECRET, "defaultMode": 0o440, "items": items}},
    ]
    pod = restricted_pod(PROVISION, [container], volumes, restart="Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": PROVISION, "labels": labels()},
        "spec": {
            # Each try waits WAIT_SECONDS for the servers; a few more ride out a server that
            # restarts meanwhile, with the Job controller's growing pauses between them.
            "backoffLimit": 4,
            "activeDeadlineSeconds": 15 * 60,
            "ttlSecondsAfterFinished": 60 * 60,  # its log stays an hour, then it goes
            "template": {"metadata": {"labels": labels()}, "spec": pod},
        },
    }
