"""The pods of deploy/k8s/base (kubernetes.py): each process's container, its release as an
init container, the job containers; their environment, probes, resources and volumes.

Every pod meets Pod Security "restricted" with a read-only root, and names its secrets only:
the Secrets `<svc>-backing` and `<svc>-identity`, the ConfigMaps `mosaic-ca`, `mosaic-trust`
and `mosaic-config`; `mosaic deploy k8s secrets` writes all but the last.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from mosaic.backing.service_secrets import provisioned_variables
from mosaic.containers import OPS_PORT, WEB, Mount, api_port, deployed_env, mounts
from mosaic.home import workspace_root
from mosaic.images import REGISTRY
from mosaic.probes import LIVENESS, READINESS, STARTUP, Probe
from mosaic.procfile import RELEASE, shell_argv
from mosaic.services import Job, Service

TAG = "dev"  # never `latest`: an overlay's kustomize `images:` sets the release's tag
UID = 10001  # the images' user (deploy/images/Containerfile)
CONFIG = "mosaic-config"  # the shop's settings that are no secret: SHOP_URL
# Every object of the shop carries it; monitoring selects the pods to scrape by it.
PART_OF = {"app.kubernetes.io/part-of": "mosaic"}
OPS_PORT_NAME = "ops"  # the ops port (/metrics, /healthz, /readyz) as probes and scrapes name it
CA_CONFIG, TRUST_CONFIG = "mosaic-ca", "mosaic-trust"  # public: the CA, the token keys
# From bench/pod_sizing.py (docs/performance.md, "What a pod needs"; not yet measured in a
# cluster): a process holds 93-132 MiB RSS idle and at most 154 MiB under the mix at
# 118 requests/s, so 160 Mi is requested and the limit leaves 1.6x that peak. CPU: 1-5
# millicores idle; under that load 4-411 (the frontend busiest), so 100m is requested (the
# autoscalers add replicas at 70 % of it) and a burst may take a whole core.
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "160Mi"},
    "limits": {"cpu": "1", "memory": "256Mi"},
}
# A web process's CPU request, and its autoscaler's target and most replicas, come from the
# capacity model (bench/capacity.py writes it from a `mosaic bench` run; docs/performance.md,
# "The capacity model"): the replicas that serve 1,000 product pages/s and 100 checkouts/s.
# Memory, and every other container, keep RESOURCES.
CAPACITY_FILE = Path("deploy") / "capacity.json"
HPA_TARGET = 70  # % of the CPU request, without a model


def capacity_model(root: Path | None = None) -> dict[str, Any]:
    """The model of the workspace at `root` (the current one by default): read once per
    file, so a render in another workspace never sees this one's, nor this one another's."""
    return _model_at((root or workspace_root()).resolve() / CAPACITY_FILE)


@cache
def _model_at(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def _sized(service: str) -> dict[str, Any] | None:
    found = capacity_model().get("services", {}).get(service)
    return dict(found) if isinstance(found, dict) else None


def resources(service: str, kind: str) -> dict[str, Any]:
    """A container's requests and limits: the model's CPU request for a web process."""
    sized = _sized(service) if kind == WEB else None
    if sized is None:
        return RESOURCES
    return {**RESOURCES, "requests": {**RESOURCES["requests"], "cpu": sized["cpu_request"]}}


def autoscaling(service: str, most: int) -> tuple[int, int]:
    """The web autoscaler's CPU target (% of the request) and its most replicas (`most`
    for a service the model does not size)."""
    sized = _sized(service)
    target = int(capacity_model().get("hpa_target_percent", HPA_TARGET))
    return target, int(sized["max_replicas"]) if sized else most


# A web pod serves on for PRE_STOP_SECONDS after it is deleted, then the chassis drains
# requests for SHUTDOWN_GRACE_SECONDS (10 s) after SIGTERM; then Kubernetes may kill.
PRE_STOP_SECONDS = 5
GRACE_SECONDS = 20


def identity_secret(service: str) -> str:
    return f"{service}-identity"  # tls.crt, tls.key, signing.key


def backing_secret(service: str) -> str:
    return f"{service}-backing"  # secret_variables(service), one key each


def secret_variables(service: Service) -> list[str]:
    """What a pod reads from its `<svc>-backing` Secret, as files in SECRETS_DIR: what
    `mosaic admin provision` writes, and the mail server's URL for a service that sends
    mail (a relay's URL may hold a password; the dev overlay's mailbox takes none)."""
    smtp = ["SMTP_URL"] if "smtp" in service.backing else []
    return [*provisioned_variables(service), *smtp]


def pod_spec(
    service: Service,
    containers: list[dict[str, Any]],
    labels: dict[str, str],
    restart: str,
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return restricted_pod(service.name, containers, _volumes(service), restart, init)


def restricted_pod(
    account: str,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    restart: str,
    init: list[dict[str, Any]] | None = None,
    grace: int = GRACE_SECONDS,
) -> dict[str, Any]:
    """A pod of the images' user that Pod Security "restricted" admits, with no API token."""
    return {
        "serviceAccountName": account,
        "automountServiceAccountToken": False,
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": grace,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,  # the mounted Secrets are readable by the group, never by others
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        **({"initContainers": init} if init else {}),
        "containers": containers,
        "volumes": volumes,
    }


# Every container: no privilege to gain, no capability, nothing written but its volumes.
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - an emptyDir of its own
TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}


def _container(service: Service, name: str, command: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": f"{REGISTRY}/{service.name}:{TAG}",
        # Tags are never reused for other bytes (a revision, or `dev` on a local cluster
        # whose nodes were loaded by hand, where `Always` could not pull): see .checkov.yaml.
        "imagePullPolicy": "IfNotPresent",
        "command": shell_argv(command),
        "env": _env(service, kind),
        "resources": resources(service.name, kind),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": _volume_mounts(service),
    }


def process_container(service: Service, kind: str) -> dict[str, Any]:
    container = _container(service, kind, service.processes[kind], kind)
    ports = [{"name": OPS_PORT_NAME, "containerPort": OPS_PORT}]
    if kind == WEB:
        ports.insert(0, {"name": "api", "containerPort": api_port(service)})
    container["ports"] = ports
    # Ready (/readyz: its backing services answer) decides traffic; alive (/healthz: the
    # process serves at all) decides restarts, so a database outage never restarts pods.
    # The numbers are the runner's too (mosaic.probes).
    container["startupProbe"] = _probe(STARTUP)  # up to 60 s
    container["readinessProbe"] = _probe(READINESS)
    container["livenessProbe"] = _probe(LIVENESS)
    if kind == WEB:
        # Deleting a pod takes it out of the Service's endpoints while SIGTERM is sent: the
        # nodes' proxies learn it a moment later. Serving on for PRE_STOP_SECONDS first means
        # no new connection meets a closed port; then SIGTERM drains (GRACE_SECONDS covers
        # both). Kubernetes' own sleep action: the image needs no `sleep` program.
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}}
    return container


def _probe(probe: Probe) -> dict[str, Any]:
    return {"httpGet": {"path": probe.path, "port": OPS_PORT_NAME}, **probe.kubernetes()}


def job_container(service: Service, job: Job) -> dict[str, Any]:
    return _container(service, job.name, job.command, job.name)


def release_container(service: Service) -> dict[str, Any]:
    assert service.release is not None
    return _container(service, RELEASE, service.release, RELEASE)


def _env(service: Service, kind: str) -> list[dict[str, Any]]:
    env = deployed_env(service, kind, smtp_url="", shop_url="")
    env.pop("SMTP_URL", None)  # a file of its Secret (secret_variables), never a variable
    listed: list[dict[str, Any]] = []
    for name, value in env.items():
        if name == "SHOP_URL":  # the shop's address: per deployment, not per image
            config = {"configMapKeyRef": {"name": CONFIG, "key": name}}
            listed.append({"name": name, "valueFrom": config})
        else:
            listed.append({"name": name, "value": value})
    return listed


def _volume_mounts(service: Service) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [TMP_MOUNT]
    for mount in mounts(service):
        entry = {"name": mount.what, "mountPath": str(mount.target), "readOnly": True}
        if mount.what == "ca":  # one file beside the other folders of /run/mosaic
            entry["subPath"] = mount.target.name
        found.append(entry)
    return found


def _volumes(service: Service) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [TMP_VOLUME]
    return found + [_volume(service, mount) for mount in mounts(service)]


def _volume(service: Service, mount: Mount) -> dict[str, Any]:
    private = 0o440  # the user's group (fsGroup) reads them; nobody else
    if mount.what == "identity":
        source = {"secretName": identity_secret(service.name), "defaultMode": private}
        return {"name": mount.what, "secret": source}
    if mount.what == "secrets":
        items = [{"key": v, "path": v} for v in secret_variables(service)]
        source = {
            "secretName": backing_secret(service.name),
            "defaultMode": private,
            "items": items,
        }
        return {"name": mount.what, "secret": source}
    # Public: the CA certificate and every service's token keys.
    items = [{"key": mount.target.name, "path": mount.target.name}] if mount.what == "ca" else []
    name = CA_CONFIG if mount.what == "ca" else TRUST_CONFIG
    config = {"name": name, **({"items": items} if items else {})}
    return {"name": mount.what, "configMap": config}
