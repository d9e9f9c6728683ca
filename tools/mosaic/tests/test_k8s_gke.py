"""deploy/k8s/overlays/gke: rendered by kubectl kustomize, filled by the documented `sed`, valid
for the Kubernetes API (core kinds, strict, at a pinned version; the Gateway API and GKE's
policy CRDs by checks of our own), the Cloud SQL Auth Proxy in exactly the pods of the services
with Postgres, Workload Identity on exactly their ServiceAccounts, no in-cluster server left in
a network policy, no placeholder left after the fill."""

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mosaic import gke, network_policies
from mosaic import kubernetes_provision as provision
from mosaic.containers import EDGE_PORT, OPS_PORT
from mosaic.services import Service

from tools.mosaic.tests.k8s_render import valid_for_the_api

ROOT = Path(__file__).resolve().parents[3]
# Custom resources: kubernetes-validate knows only the core API. The Gateway API's kinds and
# GKE's HealthCheckPolicy are checked by test_the_gateway_routes_https_to_the_frontend below.
CUSTOM_KINDS = {"Gateway", "HTTPRoute", "HealthCheckPolicy"}
SAMPLE = {  # what a reader fills in, shaped as theirs would be
    "PROJECT_ID": "mosaic-demo-4711",
    "REGION": "europe-west1",
    "IMAGE_TAG": "1a2b3c4",
    "SQL_CIDR": "10.80.0.0/20",
    "VALKEY_CIDR": "10.90.0.0/28",
    "SHOP_HOST": "shop.example.com",
    "SHOP_IP": "203.0.113.7",
}
NAME = "app.kubernetes.io/name"


def _kustomize(path: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _fill(rendered: str, values: dict[str, str]) -> str:
    """The `sed` of docs/deploy.md, run as the reader runs it: the values from the environment."""
    result = subprocess.run(
        ["sh", "-c", gke.FILL],
        input=rendered,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k not in gke.PLACEHOLDERS}, **values},
        timeout=30,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def rendered() -> str:
    return _kustomize(ROOT / gke.OVERLAY_DIR)


@pytest.fixture(scope="module")
def documents(rendered: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(_fill(rendered, SAMPLE)) if d]


def _of(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def _named(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _of(documents, kind) if d["metadata"]["name"] == name]
    return found


def _pods(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for d in _of(documents, "Deployment"):
        yield d["metadata"]["name"], d["spec"]["template"]
    for d in _of(documents, "CronJob"):
        yield d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]
    for d in _of(documents, "Job"):
        yield d["metadata"]["name"], d["spec"]["template"]


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def test_the_committed_component_is_what_the_service_data_renders(
    services: list[Service],
) -> None:
    files = gke.render(services, network_policies.http_edges(services))
    for path, text in files.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    leftovers = {p.relative_to(ROOT) for p in (ROOT / gke.COMPONENT_DIR).iterdir()}
    assert leftovers == set(files), "a file in the generated component that nothing renders"


def test_every_placeholder_is_filled_and_none_is_left(rendered: str) -> None:
    """Each placeholder is in the render (so the list is not stale) and none survives the
    documented fill; a reader who leaves one out gets it back verbatim, never half a value."""
    for name in gke.PLACEHOLDERS:
        assert re.search(rf"\b{name}\b", rendered), f"{name} is in no rendered manifest"
    filled = _fill(rendered, SAMPLE)
    for name in gke.PLACEHOLDERS:
        assert name not in filled, f"{name} survived the fill"
    assert f"{SAMPLE['REGION']}-docker.pkg.dev/{SAMPLE['PROJECT_ID']}/mosaic/catalog:" in filled


def test_the_fill_refuses_a_value_left_unset(rendered: str) -> None:
    unset = {k: v for k, v in SAMPLE.items() if k != "SQL_CIDR"}
    env = {k: v for k, v in os.environ.items() if k not in gke.PLACEHOLDERS}
    result = subprocess.run(
        ["sh", "-c", gke.FILL],
        input=rendered,
        capture_output=True,
        text=True,
        env={**env, **unset},
        timeout=30,
        check=False,
    )
    assert result.returncode != 0 and not result.stdout
    assert "SQL_CIDR" in result.stderr


def test_the_fill_is_the_one_in_docs_deploy_md() -> None:
    deploy = ROOT / "docs" / "deploy.md"
    assert gke.FILL in deploy.read_text(), "docs/deploy.md does not show gke.FILL"


def test_every_core_document_is_valid_for_the_kubernetes_api(
    documents: list[dict[str, Any]],
) -> None:
    for d in documents:
        if d["kind"] in CUSTOM_KINDS:
            continue
        valid_for_the_api(d)
    custom_groups = {"gateway.networking.k8s.io", "networking.gke.io"}
    custom = {d["kind"] for d in documents if d["apiVersion"].split("/")[0] in custom_groups}
    assert custom == CUSTOM_KINDS  # skipped above, and checked below


def test_everything_is_in_the_shops_namespace(documents: list[dict[str, Any]]) -> None:
    """The HealthCheckPolicy and the routes must share the frontend Service's namespace."""
    for d in documents:
        if d["kind"] != "Namespace":
            assert d["metadata"].get("namespace") == "mosaic", (d["kind"], d["metadata"]["name"])


def test_the_gateway_routes_https_to_the_frontend(documents: list[dict[str, Any]]) -> None:
    (gateway,) = _of(documents, "Gateway")
    assert gateway["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert gateway["spec"]["gatewayClassName"] == "gke-l7-global-external-managed"
    assert gateway["metadata"]["annotations"]["networking.gke.io/certmap"]
    listeners = {item["name"]: item for item in gateway["spec"]["listeners"]}
    assert (listeners["https"]["protocol"], listeners["https"]["port"]) == ("HTTPS", 443)
    assert (listeners["http"]["protocol"], listeners["http"]["port"]) == ("HTTP", 80)
    routes = {r["metadata"]["name"]: r for r in _of(documents, "HTTPRoute")}
    for route in routes.values():
        assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert route["spec"]["hostnames"] == [SAMPLE["SHOP_HOST"]]
        for parent in route["spec"]["parentRefs"]:
            assert parent["name"] == gateway["metadata"]["name"]
            assert parent["sectionName"] in listeners
    (serving,) = [
        r for r in routes.values() if r["spec"]["parentRefs"][0]["sectionName"] == "https"
    ]
    frontend = _named(documents, "Service", "frontend")
    (backend,) = [b for rule in serving["spec"]["rules"] for b in rule["backendRefs"]]
    assert (backend["name"], backend["port"]) == ("frontend", frontend["spec"]["ports"][0]["port"])
    assert backend["port"] == EDGE_PORT
    (redirect,) = [r for r in routes.values() if r is not serving]
    (rule,) = redirect["spec"]["rules"]
    assert rule["filters"] == [
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    ]
    assert "backendRefs" not in rule
    (check,) = _of(documents, "HealthCheckPolicy")
    assert check["apiVersion"] == "networking.gke.io/v1"
    assert check["spec"]["targetRef"] == {"group": "", "kind": "Service", "name": "frontend"}
    config = check["spec"]["default"]["config"]
    assert config == {
        "type": "HTTP",
        "httpHealthCheck": {"port": OPS_PORT, "requestPath": "/readyz"},
    }


def test_the_proxy_runs_in_exactly_the_pods_of_postgres_services(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    # The provisioning Job's pod too: it makes the services' roles and databases.
    with_postgres = {s.name for s in services if "postgres" in s.backing} | {gke.PROVISION}
    seen = set()
    for name, pod in _pods(documents):
        service = pod["metadata"]["labels"][NAME]
        proxies = [
            c for c in _containers(pod) if c["image"].startswith("gcr.io/cloud-sql-connectors/")
        ]
        if service not in with_postgres:
            assert not proxies, name
            continue
        seen.add(service)
        (proxy,) = proxies
        # First of the init containers, a native sidecar: up before the release (migrations).
        assert pod["spec"]["initContainers"][0] is proxy, name
        assert proxy["restartPolicy"] == "Always", name
        instance = f"{SAMPLE['PROJECT_ID']}:{SAMPLE['REGION']}:mosaic"
        for flag in (
            "--private-ip",
            "--port=5432",
            "--structured-logs",
            "--health-check",
            instance,
        ):
            assert flag in proxy["args"], (name, flag)
        assert proxy not in pod["spec"]["containers"]
    assert seen == with_postgres


def test_the_proxy_is_restricted_bounded_probed_and_pinned(documents: list[dict[str, Any]]) -> None:
    for name, pod in _pods(documents):
        for container in _containers(pod):
            if container["name"] != gke.PROXY:
                continue
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["runAsNonRoot"] is True, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, name
            assert re.fullmatch(
                r"gcr\.io/cloud-sql-connectors/cloud-sql-proxy:\d+\.\d+\.\d+", container["image"]
            )
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            paths = set()
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert ports[container[probe]["httpGet"]["port"]] == gke.PROXY_HEALTH_PORT
                paths.add(container[probe]["httpGet"]["path"])
            assert len(paths) == 3, name
            # Its health port is not our ops port: both listen in the same pod.
            assert gke.PROXY_HEALTH_PORT != OPS_PORT
            assert f"--http-port={gke.PROXY_HEALTH_PORT}" in container["args"]


def test_workload_identity_on_exactly_the_accounts_of_postgres_services(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    key = "iam.gke.io/gcp-service-account"
    annotated = {
        a["metadata"]["name"]: a["metadata"]["annotations"][key]
        for a in _of(documents, "ServiceAccount")
        if key in a["metadata"].get("annotations", {})
    }
    project = SAMPLE["PROJECT_ID"]
    expected = {
        s.name: f"mosaic-{s.name}@{project}.iam.gserviceaccount.com"
        for s in services
        if "postgres" in s.backing
    }
    expected[gke.PROVISION] = f"mosaic-{gke.PROVISION}@{project}.iam.gserviceaccount.com"
    assert annotated == expected
    for account in annotated.values():  # a Google account id: 6 to 30 characters
        assert 6 <= len(account.split("@")[0]) <= 30, account


def test_images_come_from_artifact_registry_with_the_release_tag(
    documents: list[dict[str, Any]],
) -> None:
    registry = f"{SAMPLE['REGION']}-docker.pkg.dev/{SAMPLE['PROJECT_ID']}/mosaic/"
    for name, pod in _pods(documents):
        for container in _containers(pod):
            if container["name"] == gke.PROXY:
                continue
            service = pod["metadata"]["labels"][NAME]
            image = "tools" if service == gke.PROVISION else service  # `mosaic admin provision`
            assert container["image"] == f"{registry}{image}:{SAMPLE['IMAGE_TAG']}", name


def test_the_shop_is_https_behind_the_load_balancer_and_mail_goes_to_a_relay(
    documents: list[dict[str, Any]],
) -> None:
    config = _named(documents, "ConfigMap", "mosaic-config")
    assert config["data"]["SHOP_URL"] == f"https://{SAMPLE['SHOP_HOST']}"
    frontend = _named(documents, "Deployment", "frontend")
    (web,) = frontend["spec"]["template"]["spec"]["containers"]
    proxies = {e["name"]: e.get("value") for e in web["env"]}["TRUSTED_PROXIES"]
    assert proxies == f"35.191.0.0/16,130.211.0.0/22,{SAMPLE['SHOP_IP']}/32"
    # The relay's URL holds a password: a file of the worker's backing Secret, never a variable.
    worker = _named(documents, "Deployment", "notifications-worker")
    pod = worker["spec"]["template"]["spec"]
    (process,) = pod["containers"]
    assert "SMTP_URL" not in {e["name"] for e in process.get("env", [])}
    backing = [
        v["secret"]
        for v in pod["volumes"]
        if v.get("secret", {}).get("secretName") == "notifications-backing"
    ]
    assert backing and "SMTP_URL" in {item["key"] for item in backing[0]["items"]}
    for name, pod in _pods(documents):
        for container in _containers(pod):
            names = [e["name"] for e in container.get("env", [])]
            assert len(names) == len(set(names)), (name, container["name"])


def _peers(rule: dict[str, Any], side: str) -> list[dict[str, Any]]:
    return list(rule.get(side, []))


def test_no_policy_names_an_in_cluster_server_and_egress_leaves_by_backing(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    servers = set(network_policies.SERVERS)
    policies = {p["metadata"]["name"]: p for p in _of(documents, "NetworkPolicy")}
    for name, policy in policies.items():
        selected = policy["spec"]["podSelector"].get("matchLabels", {}).get(NAME)
        assert selected not in servers, name
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(direction, []):
                for peer in _peers(rule, side):
                    labels = peer.get("podSelector", {}).get("matchLabels", {})
                    assert labels.get(NAME) not in servers, (name, peer)
    for service in services:
        egress = policies.get(f"{service.name}-egress")
        blocks = set()
        for rule in egress["spec"]["egress"] if egress else []:
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    blocks |= {(peer["ipBlock"]["cidr"], p["port"]) for p in rule["ports"]}
        expected = set()
        if "postgres" in service.backing:
            expected |= {(SAMPLE["SQL_CIDR"], 3307), ("0.0.0.0/0", 443)}
            expected |= {("169.254.169.254/32", 80), ("169.254.169.252/32", 988)}
        if {"valkey", "broker"} & service.backing:
            expected.add((SAMPLE["VALKEY_CIDR"], 6379))
        if "smtp" in service.backing:
            expected.add(("0.0.0.0/0", 587))
        assert blocks == expected, service.name
    dns = policies["allow-dns"]["spec"]["egress"][0]["to"]
    assert {"ipBlock": {"cidr": "169.254.20.10/32"}} in dns  # NodeLocal DNSCache (Autopilot)
    probes = policies["allow-cloud-sql-proxy-probes"]["spec"]
    (chosen,) = probes["podSelector"]["matchExpressions"]
    assert set(chosen["values"]) == {s.name for s in services if "postgres" in s.backing}
    assert probes["ingress"] == [{"ports": [{"protocol": "TCP", "port": gke.PROXY_HEALTH_PORT}]}]


def test_the_rendered_job_leaves_memorystore_to_its_acl_policy(
    documents: list[dict[str, Any]],
) -> None:
    """In the whole overlay: the Job provisions with `--valkey-users external`, mounts no
    Valkey admin URL (mosaic-provision holds none with --valkey-acl-policy) and may reach
    Cloud SQL's way only, not Memorystore's range."""
    job = _named(documents, "Job", "provision")["spec"]["template"]["spec"]
    command = job["containers"][0]["command"]
    assert command[command.index("--valkey-users") + 1] == "external"
    (secret,) = [v["secret"] for v in job["volumes"] if "secret" in v]
    assert "valkey-admin-url" not in {item["key"] for item in secret["items"]}
    egress = _named(documents, "NetworkPolicy", "provision-egress")["spec"]["egress"]
    assert [r for r in egress if SAMPLE["VALKEY_CIDR"] in str(r) or "6379" in str(r)] == []


def test_every_policy_selects_a_pod(documents: list[dict[str, Any]]) -> None:
    """The provisioning Job's pod included: its egress is patched, not added."""
    labels = [pod["metadata"]["labels"] for _, pod in _pods(documents)]
    empty = set()
    for policy in _of(documents, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        wanted = selector.get("matchLabels", {})
        chosen = [
            pod
            for pod in labels
            if wanted.items() <= pod.items()
            and all(pod.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []))
        ]
        if not chosen:
            empty.add(policy["metadata"]["name"])
    assert empty == set()


def test_the_provisioning_job_gets_the_proxy_and_its_identity(
    tmp_path: Path, services: list[Service]
) -> None:
    """The label-selected patches on the base's Job: the proxy as its only init container,
    Workload Identity on its ServiceAccount; and it leaves Memorystore alone (`--valkey-users
    external`, no Valkey admin URL mounted, none in its egress), whose users come from the
    ACL policy `mosaic deploy k8s secrets --valkey-acl-policy` writes."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "job.yaml").write_text(yaml.safe_dump_all(provision.manifests(services)))
    relative = os.path.relpath(ROOT / gke.COMPONENT_DIR, overlay)
    kustomization = {"resources": ["job.yaml"], "components": [relative]}
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    built = [d for d in yaml.safe_load_all(_fill(_kustomize(overlay), SAMPLE)) if d]
    (made,) = _of(built, "Job")
    pod = made["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == [gke.PROXY]
    (container,) = pod["containers"]
    assert container["image"].endswith(f"/mosaic/tools:{SAMPLE['IMAGE_TAG']}")
    command = container["command"]
    assert command[command.index("--valkey-users") + 1] == "external"
    assert not [word for word in command if "valkey-admin-url" in word]
    assert "--postgres-admin-url-file" in command
    (secret,) = [v["secret"] for v in pod["volumes"] if "secret" in v]
    assert {item["key"] for item in secret["items"]} == {"postgres-admin-url", "passwords.json"}
    (annotated,) = _of(built, "ServiceAccount")
    annotation = annotated["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert annotation == f"mosaic-provision@{SAMPLE['PROJECT_ID']}.iam.gserviceaccount.com"


def _quantity(value: str) -> float:
    """CPU in cores, memory in MiB: the units the base and the proxy use."""
    if value.endswith("m"):
        return int(value[:-1]) / 1000
    if value.endswith("Mi"):
        return int(value[:-2])
    return float(value)


def test_what_it_costs_counts_what_the_overlay_requests(documents: list[dict[str, Any]]) -> None:
    """docs/deploy.md's estimate starts from the pods and requests of the render: a change
    of replicas, requests or sidecars that the page does not follow fails here."""
    minimum = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"]
        for d in _of(documents, "HorizontalPodAutoscaler")
    }
    pods = 0
    cpu = memory = 0.0
    for deployment in _of(documents, "Deployment"):
        name = deployment["metadata"]["name"]
        replicas = deployment["spec"].get("replicas", minimum.get(name))
        spec = deployment["spec"]["template"]["spec"]
        sidecars = [c for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        running = [*spec["containers"], *sidecars]  # init containers that end are not counted
        pods += replicas
        cpu += replicas * sum(_quantity(c["resources"]["requests"]["cpu"]) for c in running)
        memory += replicas * sum(_quantity(c["resources"]["requests"]["memory"]) for c in running)
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert f"**{pods} pods**" in text
    assert f"**{cpu:.2f} vCPU and {memory / 1024:.2f} GiB**" in text
