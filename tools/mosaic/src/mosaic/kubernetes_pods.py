"""The pods of deploy/k8s/base (kubernetes.py): each process's container, its release as an
init container, the job containers; their environment, probes, resources and volumes.

Every pod meets Pod Security "restricted" with a read-only root, and names its secrets only:
the Secrets `<svc>-backing` and `<svc>-identity`, the ConfigMaps `mosaic-ca`, `mosaic-trust`
and `mosaic-config`.
"""

from __future__ import annotations

from typing import Any

from mosaic.backing.service_secrets import provisioned_variables
from mosaic.compose import SMTP_URL
from mosaic.containers import OPS_PORT, WEB, Mount, api_port, deployed_env, mounts
from mosaic.images import REGISTRY
from mosaic.procfile import RELEASE, shell_argv
from mosaic.services import Job, Service

TAG = "dev"  # never `latest`: an overlay's kustomize `images:` sets the release's tag
UID = 10001  # the images' user (deploy/images/Containerfile)
CONFIG = "mosaic-config"  # the shop's settings that are no secret: SHOP_URL
# Not measured in a cluster yet. From docs/performance.md "What `mosaic up` costs": each
# process holds 71-112 MiB RSS after a warm start, so 128 Mi is requested; the limit leaves
# room for load. A start costs 1.5 s of CPU (imports), idle next to nothing.
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "1", "memory": "256Mi"},
}
# The chassis drains requests for SHUTDOWN_GRACE_SECONDS (10 s) after SIGTERM; then
# Kubernetes may kill.
GRACE_SECONDS = 20


def pod_spec(
    service: Service,
    containers: list[dict[str, Any]],
    labels: dict[str, str],
    restart: str,
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "serviceAccountName": service.name,
        "automountServiceAccountToken": False,
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,  # the mounted Secrets are readable by the group, never by others
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        **({"initContainers": init} if init else {}),
        "containers": containers,
        "volumes": _volumes(service),
    }


def _container(service: Service, name: str, command: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": f"{REGISTRY}/{service.name}:{TAG}",
        # Tags are never reused for other bytes (a revision, or `dev` on a local cluster
        # whose nodes were loaded by hand, where `Always` could not pull): see .checkov.yaml.
        "imagePullPolicy": "IfNotPresent",
        "command": shell_argv(command),
        "env": _env(service, kind),
        "resources": RESOURCES,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": _volume_mounts(service),
    }


def process_container(service: Service, kind: str) -> dict[str, Any]:
    container = _container(service, kind, service.processes[kind], kind)
    ports = [{"name": "ops", "containerPort": OPS_PORT}]
    if kind == WEB:
        ports.insert(0, {"name": "api", "containerPort": api_port(service)})
    container["ports"] = ports
    # Ready (/readyz: its backing services answer) decides traffic; alive (/healthz: the
    # process serves at all) decides restarts, so a database outage never restarts pods.
    container["startupProbe"] = _probe("/healthz", period=2, failures=30)  # up to 60 s
    container["readinessProbe"] = _probe("/readyz", period=5, failures=2)
    container["livenessProbe"] = _probe("/healthz", period=10, failures=3)
    return container


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "ops"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def job_container(service: Service, job: Job) -> dict[str, Any]:
    return _container(service, job.name, job.command, job.name)


def release_container(service: Service) -> dict[str, Any]:
    assert service.release is not None
    return _container(service, RELEASE, service.release, RELEASE)


def _env(service: Service, kind: str) -> list[dict[str, Any]]:
    env = deployed_env(service, kind, smtp_url=SMTP_URL, shop_url="")
    listed: list[dict[str, Any]] = []
    for name, value in env.items():
        if name == "SHOP_URL":
            config = {"configMapKeyRef": {"name": CONFIG, "key": name}}
            listed.append({"name": name, "valueFrom": config})
        else:
            listed.append({"name": name, "value": value})
    return listed


def _volume_mounts(service: Service) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108
    for mount in mounts(service):
        entry = {"name": mount.what, "mountPath": str(mount.target), "readOnly": True}
        if mount.what == "ca":  # one file beside the other folders of /run/mosaic
            entry["subPath"] = mount.target.name
        found.append(entry)
    return found


def _volumes(service: Service) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    return found + [_volume(service, mount) for mount in mounts(service)]


def _volume(service: Service, mount: Mount) -> dict[str, Any]:
    private = 0o440  # the user's group (fsGroup) reads them; nobody else
    if mount.what == "identity":
        source = {"secretName": f"{service.name}-identity", "defaultMode": private}
        return {"name": mount.what, "secret": source}
    if mount.what == "secrets":
        items = [{"key": v, "path": v} for v in provisioned_variables(service)]
        source = {"secretName": f"{service.name}-backing", "defaultMode": private, "items": items}
        return {"name": mount.what, "secret": source}
    # Public: the CA certificate and every service's token keys.
    items = [{"key": mount.target.name, "path": mount.target.name}] if mount.what == "ca" else []
    config = {"name": f"mosaic-{mount.what}", **({"items": items} if items else {})}
    return {"name": mount.what, "configMap": config}
