"""The checks every render of deploy/k8s passes: the base (test_kubernetes.py), each overlay
and each overlay with each component (test_k8s_overlays.py). What kube-score, Polaris and
kube-linter check and checkov does not, and Pod Security "restricted" (the commands' checks
are k8s_commands.py). Each check takes the render's documents and the services, and fails naming the
object. Stricter still for the pods of our services (app.kubernetes.io/name is a service):
their user, their probes on the ops port, their Services."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from mosaic.network_policies import SERVERS
from mosaic.procfile import RELEASE
from mosaic.services import Service

Document = dict[str, Any]
Check = Callable[[list[Document], list[Service]], None]

UID = 10001  # the images' user (deploy/images/Containerfile)
NAME, COMPONENT = "app.kubernetes.io/name", "app.kubernetes.io/component"
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")
# Pod Security "restricted" allows these volume types only (no hostPath).
VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "ClusterIssuer", "PriorityClass", "StorageClass", "GatewayClass",
}  # fmt: skip
SECRET_LOOKING = re.compile("PASSWORD|SECRET|KEY|TOKEN")
PASSWORD_IN_URL = re.compile(r"://[^/\s:@]+:[^@\s]+@")
PROVISIONED = {"DATABASE_URL", "REDIS_URL", "BROKER_URL", "CSRF_SECRET"}


def of(documents: list[Document], *kinds: str) -> list[Document]:
    return [d for d in documents if d["kind"] in kinds]


def name(document: Document) -> str:
    return f"{document['kind']} {document['metadata']['name']}"


def pods(documents: list[Document]) -> Iterator[tuple[str, Document, Document]]:
    """(the owner's kind and name, the owner, its pod template) of every workload."""
    for d in of(documents, *LONG_RUNNING, "Job"):
        yield name(d), d, d["spec"]["template"]
    for d in of(documents, "CronJob"):
        yield name(d), d, d["spec"]["jobTemplate"]["spec"]["template"]


def containers(pod: Document) -> list[Document]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def labels(pod: Document) -> dict[str, str]:
    found: dict[str, str] = pod.get("metadata", {}).get("labels", {})
    return found


# Pods of ours that belong to no one service: the provisioning Job (the tools image).
OUR_OTHER_PODS = frozenset({"provision"})


def service_of(pod: Document, services: list[Service]) -> Service | None:
    """The service whose process, release or job this pod runs; None for any other pod."""
    by_name = {s.name: s for s in services}
    return by_name.get(labels(pod).get(NAME, ""))


def selects(selector: Document, pod_labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod's labels."""
    if not selector:
        return True
    wanted = selector.get("matchLabels", {})
    if not wanted.items() <= pod_labels.items():
        return False
    for rule in selector.get("matchExpressions", []):
        key, values = rule["key"], rule.get("values", [])
        held = {
            "In": key in pod_labels and pod_labels[key] in values,
            "NotIn": pod_labels.get(key) not in values,
            "Exists": key in pod_labels,
            "DoesNotExist": key not in pod_labels,
        }
        if not held[rule["operator"]]:
            return False
    return True


def every_object_has_a_namespace(documents: list[Document], services: list[Service]) -> None:
    for d in documents:
        if d["kind"] not in CLUSTER_SCOPED:
            assert d["metadata"].get("namespace"), f"{name(d)} has no namespace"


def namespaces_enforce_restricted(documents: list[Document], services: list[Service]) -> None:
    for namespace in of(documents, "Namespace"):
        found = namespace["metadata"].get("labels", {})
        for mode in ("enforce", "audit", "warn"):
            label = f"pod-security.kubernetes.io/{mode}"
            assert found.get(label) == "restricted", f"{name(namespace)}: {label}"


def pods_meet_pod_security_restricted(documents: list[Document], services: list[Service]) -> None:
    """Pod Security Standards "restricted", and a read-only root for every container; ours
    also run as the images' user, without an API token, with /tmp their one writable place."""
    accounts = {a["metadata"]["name"]: a for a in of(documents, "ServiceAccount")}
    for owner, _, pod in pods(documents):
        spec = pod["spec"]
        context = spec.get("securityContext", {})
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host, False), f"{owner}: {host}"
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            assert kinds <= VOLUMES, f"{owner}: volume {volume['name']} is {kinds}"
        assert context.get("runAsUser", UID) != 0, owner
        seccomp = context.get("seccompProfile", {}).get("type")
        assert seccomp in {None, "RuntimeDefault", "Localhost"}, owner
        for container in containers(pod):
            where = f"{owner}, container {container['name']}"
            security = container.get("securityContext", {})
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("privileged", False) is False, where
            capabilities = security.get("capabilities", {})
            assert "ALL" in capabilities.get("drop", []), where
            assert set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"}, where
            non_root = security.get("runAsNonRoot", context.get("runAsNonRoot"))
            assert non_root is True, f"{where}: runAsNonRoot"
            assert security.get("runAsUser", 1) != 0, where
            own = security.get("seccompProfile", {}).get("type", seccomp)
            assert own in {"RuntimeDefault", "Localhost"}, f"{where}: seccompProfile"
            assert not any("hostPort" in p for p in container.get("ports", [])), where
        if service_of(pod, services) is None and labels(pod).get(NAME) not in OUR_OTHER_PODS:
            continue
        assert context["runAsNonRoot"] is True, owner
        assert context["runAsUser"] == context["runAsGroup"] == context["fsGroup"] == UID, owner
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, owner
        assert spec["automountServiceAccountToken"] is False, owner
        account = accounts.get(spec["serviceAccountName"])
        assert account is not None, f"{owner}: no ServiceAccount {spec['serviceAccountName']}"
        assert account["automountServiceAccountToken"] is False, owner
        assert spec["terminationGracePeriodSeconds"] > 10, owner  # the chassis drains 10 s
        tmp = [v for v in spec["volumes"] if v["name"] == "tmp"]
        assert tmp and "emptyDir" in tmp[0], owner
        for container in containers(pod):
            if container["name"] not in our_containers(pod, service_of(pod, services)):
                continue  # a sidecar an overlay adds keeps its own settings
            where = f"{owner}, container {container['name']}"
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, where
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where


def our_containers(pod: Document, service: Service | None) -> set[str]:
    """The containers that run the service's own commands: its process type, its release,
    its jobs (each named so by the renderer)."""
    if service is None:
        return set()
    return {*service.processes, RELEASE, *(j.name for j in service.jobs)} & {
        c["name"] for c in containers(pod)
    }


def long_running_containers_have_probes(documents: list[Document], services: list[Service]) -> None:
    """Readiness and liveness on every long-running container, different from each other
    (a dependency's outage must take a pod out of traffic, not restart it). Our processes:
    all three on the ops port, ready on /readyz, alive on /healthz."""
    for owner, _, pod in pods(of(documents, *LONG_RUNNING)):
        service = service_of(pod, services)
        for container in pod["spec"]["containers"]:
            where = f"{owner}, container {container['name']}"
            ready, alive = container.get("readinessProbe"), container.get("livenessProbe")
            assert ready and alive, f"{where}: readiness and liveness probes"
            assert ready != alive, f"{where}: readiness is liveness"
            if service is None or container["name"] != labels(pod).get(COMPONENT):
                continue
            startup = container.get("startupProbe")
            assert startup, f"{where}: startup probe"
            for probe in (startup, ready, alive):
                assert probe["httpGet"]["port"] == "ops", where
            assert ready["httpGet"]["path"] == "/readyz", where
            assert alive["httpGet"]["path"] == "/healthz", where


def containers_have_requests_limits_and_a_pinned_image(
    documents: list[Document], services: list[Service]
) -> None:
    for owner, _, pod in pods(documents):
        for container in containers(pod):
            where = f"{owner}, container {container['name']}"
            for bound in ("requests", "limits"):
                found = set(container.get("resources", {}).get(bound, {}))
                assert {"cpu", "memory"} <= found, f"{where}: {bound} {found}"
            assert pinned(container["image"]), f"{where}: {container['image']} is not pinned"


def pinned(image: str) -> bool:
    """A tag other than `latest`, or a digest; a registry's port is no tag."""
    reference, _, digest = image.partition("@")
    if digest:
        return re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None
    last = reference.rsplit("/", 1)[-1]
    repository, colon, tag = last.partition(":")
    return bool(repository and colon and re.fullmatch(r"\w[\w.-]{0,127}", tag)) and tag != "latest"


def services_select_pods_by_their_ports(documents: list[Document], services: list[Service]) -> None:
    """Each Service selects pods, and each of its ports reaches a port they declare; ours
    select exactly their web process's pods, on the port they call it by."""
    workloads = list(pods(of(documents, *LONG_RUNNING)))
    ours = {s.name for s in services}
    for entry in of(documents, "Service"):
        selector = entry["spec"].get("selector")
        if not selector:
            continue  # no pods of its own (ExternalName, or endpoints made by hand)
        chosen = [w for w in workloads if selects({"matchLabels": selector}, labels(w[2]))]
        assert chosen, f"{name(entry)} selects no pod"
        if entry["metadata"]["name"] in ours:
            owners = [d["metadata"]["name"] for _, d, _ in chosen]
            assert owners == [entry["metadata"]["name"]], f"{name(entry)} selects {owners}"
        for owner, _, pod in chosen:
            declared = [p for c in pod["spec"]["containers"] for p in c.get("ports", [])]
            for port in entry["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                key = "name" if isinstance(target, str) else "containerPort"
                reached = [p for p in declared if p.get(key) == target]
                assert reached, f"{name(entry)}: {owner} has no port {target}"
                if entry["metadata"]["name"] in ours:
                    assert reached[0]["containerPort"] == port["port"], name(entry)


def replicated_workloads_have_disruption_budgets(
    documents: list[Document], services: list[Service]
) -> None:
    """A PodDisruptionBudget for every workload that may run more than one pod (replicas
    above one, or an autoscaler's maximum); every budget and autoscaler has its target; an
    autoscaled workload leaves `replicas` to the autoscaler."""
    workloads = {name(d): (d, pod) for _, d, pod in pods(of(documents, *LONG_RUNNING))}
    budgets = of(documents, "PodDisruptionBudget")
    scaled = {}
    for scaler in of(documents, "HorizontalPodAutoscaler"):
        target = scaler["spec"]["scaleTargetRef"]
        key = f"{target['kind']} {target['name']}"
        assert key in workloads, f"{name(scaler)} scales {key}, which is not in the render"
        assert "replicas" not in workloads[key][0]["spec"], f"{key}: the autoscaler owns it"
        scaled[key] = scaler["spec"]["maxReplicas"]
    for key, (workload, pod) in workloads.items():
        if workload["kind"] == "DaemonSet":
            continue
        if max(workload["spec"].get("replicas", 1), scaled.get(key, 1)) > 1:
            chosen = [b for b in budgets if selects(b["spec"]["selector"], labels(pod))]
            assert chosen, f"{key} runs several pods and no PodDisruptionBudget covers them"
    for budget in budgets:
        assert any(
            selects(budget["spec"]["selector"], labels(pod)) for _, pod in workloads.values()
        ), f"{name(budget)} selects no pod"


def environments_hold_no_secret_and_no_variable_twice(
    documents: list[Document], services: list[Service]
) -> None:
    """Secrets only by reference (a Secret's key or a mounted file), never as a value, in a
    ConfigMap or as a Secret object in the files; no variable set twice in a container."""
    for owner, _, pod in pods(documents):
        # The files of its backing Secret (read through SECRETS_DIR) are variables too.
        secret_files = {
            item["key"]
            for volume in pod["spec"].get("volumes", [])
            if volume["name"] == "secrets"
            for item in volume.get("secret", {}).get("items", [])
        }
        for container in containers(pod):
            where = f"{owner}, container {container['name']}"
            names = [e["name"] for e in container.get("env", [])]
            assert len(names) == len(set(names)), f"{where}: a variable set twice in {names}"
            both = set(names) & secret_files
            assert not both, f"{where}: {sorted(both)} both a variable and a Secret's file"
            for entry in container.get("env", []):
                variable = entry["name"]
                assert not PASSWORD_IN_URL.search(entry.get("value", "")), f"{where}: {variable}"
                if "secretKeyRef" in entry.get("valueFrom", {}):
                    continue
                if SECRET_LOOKING.search(variable):
                    assert variable.endswith(("_FILE", "_DIR")), f"{where}: {variable} by value"
                assert variable not in PROVISIONED, f"{where}: {variable} belongs in its Secret"
    for config in of(documents, "ConfigMap"):
        for key, value in config.get("data", {}).items():
            assert not PASSWORD_IN_URL.search(value), f"{name(config)}: {key}"
    assert not of(documents, "Secret"), "a Secret is made outside: its value is never here"


def scheduled_jobs_have_deadlines_and_never_overlap(
    documents: list[Document], services: list[Service]
) -> None:
    for job in of(documents, "CronJob"):
        spec = job["spec"]
        assert spec.get("concurrencyPolicy") == "Forbid", name(job)
        minutes = re.fullmatch(r"\*/(\d+) \* \* \* \*", spec["schedule"])
        period = int(minutes[1]) * 60 if minutes else None
        assert 10 <= spec["startingDeadlineSeconds"] < (period or 10**9), name(job)
        run = spec["jobTemplate"]["spec"]
        assert run["activeDeadlineSeconds"] > 0, name(job)
        assert run["backoffLimit"] >= 0, name(job)
        assert run["template"]["spec"]["restartPolicy"] == "Never", name(job)
    for job in of(documents, "Job"):  # a one-shot that hangs must not hang for ever
        assert job["spec"].get("activeDeadlineSeconds", 0) > 0, name(job)


def network_policies_select_every_pod(documents: list[Document], services: list[Service]) -> None:
    """When the render has policies: each pod is selected by one of its namespace (deny-all
    at least), and each policy selects a pod, but for a backing server's when the render
    runs none (the base alone, or a managed server outside the cluster): it opens nothing."""
    policies = of(documents, "NetworkPolicy")
    if not policies:
        return
    everyone = [(d["metadata"].get("namespace"), labels(pod)) for _, d, pod in pods(documents)]

    def chooses(policy: Document, namespace: str | None, pod_labels: dict[str, str]) -> bool:
        same = policy["metadata"].get("namespace") == namespace
        return same and selects(policy["spec"]["podSelector"], pod_labels)

    for namespace, pod_labels in everyone:
        assert any(chooses(p, namespace, pod_labels) for p in policies), (
            f"no NetworkPolicy of namespace {namespace} selects the pods {pod_labels}"
        )
    for policy in policies:
        if any(chooses(policy, *pod) for pod in everyone):
            continue
        server = policy["spec"]["podSelector"].get("matchLabels", {}).get(NAME)
        assert server in SERVERS, f"{name(policy)} selects no pod"
        assert not any(p.get(NAME) == server for _, p in everyone), name(policy)


CHECKS: list[Check] = [
    every_object_has_a_namespace,
    namespaces_enforce_restricted,
    pods_meet_pod_security_restricted,
    long_running_containers_have_probes,
    containers_have_requests_limits_and_a_pinned_image,
    services_select_pods_by_their_ports,
    replicated_workloads_have_disruption_budgets,
    environments_hold_no_secret_and_no_variable_twice,
    scheduled_jobs_have_deadlines_and_never_overlap,
    network_policies_select_every_pod,
]
