"""deploy/k8s/components/service-mesh-istio: rendered from the policy data, committed as
rendered, rendered by kustomize together with the base; the core kinds valid for the
Kubernetes API and Istio's kinds for the fields we use (no offline schema of Istio's CRDs
installs here); the AuthorizationPolicies allowing exactly the allowlist edges, both ways;
every pod in mesh mode exactly once, with the identity the chassis will compare."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chassis.settings import ServiceSettings, load_settings
from mosaic import istio, kubernetes, network_policies
from mosaic.containers import WEB, api_port, container_env, deployed_env
from mosaic.home import services_dir
from mosaic.istio import COMPONENT_DIR, INGRESS_GATEWAY, MESH_IDENTITY, NETWORKING, SECURITY
from mosaic.kubernetes_pods import secret_variables
from mosaic.network_policies import NAME, SERVERS
from mosaic.procfile import RELEASE
from mosaic.services import OPERATOR, Service, url_variable

from tools.mosaic.tests.k8s_render import base_with, committed, valid_for_the_api

ROOT = Path(__file__).resolve().parents[3]
ISTIO_KINDS = {"PeerAuthentication", "AuthorizationPolicy", "Gateway", "VirtualService"}
# Istio's principal: `<trust domain>/ns/<namespace>/sa/<service account>`, no scheme.
PRINCIPAL = re.compile(r"^(?P<domain>[a-z0-9.-]+)/ns/(?P<ns>[a-z0-9-]+)/sa/(?P<sa>[a-z0-9-]+)$")


@pytest.fixture(scope="module")
def policies() -> list[dict[str, Any]]:
    """The component's own objects (not its patches), as committed."""
    found = committed(ROOT / COMPONENT_DIR)
    assert found and {d["kind"] for d in found} == ISTIO_KINDS
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a throwaway overlay: the base with the component, beside copies
    of the committed folders (the `../base` paths real overlays use)."""
    return base_with("service-mesh-istio", tmp_path_factory.mktemp("istio"))


def _pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for d in documents:
        if d["kind"] == "Deployment":
            yield d["metadata"]["name"], d["spec"]["template"]["spec"]
        elif d["kind"] == "CronJob":
            yield d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod.get("initContainers", [])) + list(pod["containers"])


def _callers(policy: dict[str, Any]) -> list[str]:
    """The service accounts a policy's rules name, each checked as Istio's principal form."""
    found = []
    for rule in policy["spec"].get("rules", []):
        for peer in rule["from"]:
            for principal in peer["source"]["principals"]:
                if principal == INGRESS_GATEWAY:
                    found.append("ingress-gateway")
                    continue
                match = PRINCIPAL.match(principal)
                assert match, f"{principal!r} is not <domain>/ns/<namespace>/sa/<account>"
                assert match["ns"] == kubernetes.NAMESPACE, principal
                found.append(match["sa"])
    return found


def _authorizations(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in policies if d["kind"] == "AuthorizationPolicy"]


def _selected(policy: dict[str, Any]) -> str | None:
    selector = policy["spec"].get("selector")
    return selector["matchLabels"][NAME] if selector else None


def test_the_committed_component_is_what_the_policy_data_renders(
    services: list[Service],
) -> None:
    rendered = istio.render(services, network_policies.http_edges(services))
    for path, text in rendered.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    found = {p.relative_to(ROOT) for p in (ROOT / COMPONENT_DIR).rglob("*") if p.is_file()}
    assert found == set(rendered), "a file in the component that nothing renders"


def test_kubectl_kustomize_renders_the_base_with_the_component(
    built: list[dict[str, Any]], policies: list[dict[str, Any]]
) -> None:
    base = committed(ROOT / kubernetes.BASE_DIR)
    assert len(built) == len(base) + len(policies)  # patches change objects, add none
    found = {(d["kind"], d["metadata"]["name"]) for d in built if d["kind"] in ISTIO_KINDS}
    assert found == {(d["kind"], d["metadata"]["name"]) for d in policies}
    for d in built:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == kubernetes.NAMESPACE, d["metadata"]["name"]
    (namespace,) = [d for d in built if d["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"  # kept: CNI agent


def test_every_core_object_is_valid_for_the_kubernetes_api(built: list[dict[str, Any]]) -> None:
    for d in built:
        if d["kind"] in ISTIO_KINDS:
            continue
        valid_for_the_api(d)


def test_istio_s_objects_use_only_the_fields_istio_knows(policies: list[dict[str, Any]]) -> None:
    """A schema of our own for the fields we use, from Istio's security.istio.io/v1 API
    (PeerAuthentication, AuthorizationPolicy): an unknown or misspelt field would be pruned
    or refused by the cluster, silently loosening a policy."""
    for d in policies:
        name = f"{d['kind']} {d['metadata']['name']}"
        networking = d["kind"] in {"Gateway", "VirtualService"}
        assert d["apiVersion"] == (NETWORKING if networking else SECURITY), name
        assert set(d) == {"apiVersion", "kind", "metadata", "spec"}, name
        assert set(d["metadata"]) == {"name", "namespace"}, name
        spec = d["spec"]
        if d["kind"] == "Gateway":
            assert set(spec) == {"selector", "servers"}, name
            for server in spec["servers"]:
                assert set(server) == {"port", "hosts"}, name
                assert set(server["port"]) == {"number", "name", "protocol"}, name
            continue
        if d["kind"] == "VirtualService":
            assert set(spec) == {"hosts", "gateways", "http"}, name
            for route in spec["http"]:
                assert set(route) == {"route"}, name
                for target in route["route"]:
                    assert set(target) == {"destination"}, name
                    assert set(target["destination"]) == {"host", "port"}, name
                    assert set(target["destination"]["port"]) == {"number"}, name
            continue
        if "selector" in spec:
            assert set(spec["selector"]) == {"matchLabels"}, name
        if d["kind"] == "PeerAuthentication":
            assert set(spec) <= {"selector", "mtls", "portLevelMtls"}, name
            assert spec["mtls"] == {"mode": "STRICT"}, name
            continue
        assert set(spec) <= {"selector", "action", "rules"}, name
        assert spec["action"] == "ALLOW", name  # DENY or CUSTOM would change the model
        for rule in spec.get("rules", []):
            assert set(rule) == {"from", "to"}, name
            for peer in rule["from"]:
                assert set(peer) == {"source"} and set(peer["source"]) == {"principals"}, name
            for target in rule["to"]:
                assert set(target) == {"operation"}, name
                assert set(target["operation"]) == {"ports"}, name
                ports = target["operation"]["ports"]
                assert all(isinstance(p, str) and p.isdigit() for p in ports), name


def test_mesh_wide_strict_mtls_and_deny_by_default(policies: list[dict[str, Any]]) -> None:
    (strict,) = [d for d in policies if d["kind"] == "PeerAuthentication"]
    assert "selector" not in strict["spec"] and "portLevelMtls" not in strict["spec"]
    nothing = [d for d in _authorizations(policies) if _selected(d) is None]
    assert [d["spec"] for d in nothing] == [{"action": "ALLOW"}]  # no rule: matches nothing
    for d in _authorizations(policies):
        for rule in d["spec"].get("rules", []):
            assert rule.get("from") and rule.get("to"), d["metadata"]  # never "from anyone"


def test_the_authorization_policies_are_exactly_the_allowlist_edges(
    services: list[Service], policies: list[dict[str, Any]]
) -> None:
    """Both ways: each edge's caller is named by its callee's policy, on the callee's API
    port and its web pods only, and no policy names a pair that no allowlist does. The
    operator (`admin`) is no pod; the frontend is called by the ingress gateway only."""
    edges = set(network_policies.http_edges(services))
    assert edges and all(OPERATOR not in e for e in edges)
    by_name = {s.name: s for s in services}
    pairs: set[tuple[str, str]] = set()
    for policy in _authorizations(policies):
        callee = _selected(policy)
        if callee is None or callee in SERVERS:
            continue
        assert policy["spec"]["selector"]["matchLabels"] == {
            NAME: callee,
            network_policies.COMPONENT: WEB,
        }
        for rule in policy["spec"]["rules"]:
            assert rule["to"] == [{"operation": {"ports": [str(api_port(by_name[callee]))]}}]
        pairs |= {(caller, callee) for caller in _callers(policy)}
    (edge,) = [s.name for s in services if s.edge]
    assert {p for p in pairs if p[1] == edge} == {("ingress-gateway", edge)}
    assert {p for p in pairs if p[1] != edge} == edges


def test_the_ingress_gateway_reaches_the_edge_and_nothing_else(
    services: list[Service], policies: list[dict[str, Any]]
) -> None:
    """The Gateway binds the gateway whose principal the edge's policy names; its routes go to
    the edge's Service on its API port only."""
    (edge,) = [s for s in services if s.edge]
    (gateway,) = [d for d in policies if d["kind"] == "Gateway"]
    assert gateway["spec"]["selector"] == {"istio": "ingressgateway"}  # istioctl's default
    assert INGRESS_GATEWAY.endswith("/sa/istio-ingressgateway-service-account")
    (routes,) = [d for d in policies if d["kind"] == "VirtualService"]
    assert routes["spec"]["gateways"] == [gateway["metadata"]["name"]]
    destinations = [t["destination"] for r in routes["spec"]["http"] for t in r["route"]]
    assert destinations == [{"host": edge.name, "port": {"number": api_port(edge)}}]


def test_each_backing_server_admits_exactly_its_users(
    services: list[Service], policies: list[dict[str, Any]]
) -> None:
    expected = {(s.name, server) for s in services for server in network_policies.servers_of(s)}
    pairs = set()
    for policy in _authorizations(policies):
        server = _selected(policy)
        if server in SERVERS:
            port = str(SERVERS[server][0])
            assert all(
                r["to"] == [{"operation": {"ports": [port]}}] for r in policy["spec"]["rules"]
            )
            pairs |= {(user, server) for user in _callers(policy)}
    assert pairs == expected


def test_every_pod_runs_in_mesh_mode_exactly_once(
    services: list[Service], built: list[dict[str, Any]]
) -> None:
    """Every container (init containers and CronJobs too) gets TRANSPORT_SECURITY=mesh once,
    no certificate files, callees over http (the sidecars do TLS), MESH_IDENTITY; exactly
    the names of the runner's mesh mode besides."""
    by_name = {s.name: s for s in services}
    seen = 0
    for pod_name, pod in _pod_specs(built):
        service = by_name[pod["serviceAccountName"]]
        for container in _containers(pod):
            where = f"{pod_name}/{container['name']}"
            names = [e["name"] for e in container["env"]]
            assert len(names) == len(set(names)), f"{where}: a variable set twice"
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["TRANSPORT_SECURITY"] == "mesh", where
            assert env["MESH_IDENTITY"] == MESH_IDENTITY, where
            assert not [n for n in env if n.startswith("TLS_")], where
            for callee in service.calls:
                assert env[url_variable(callee)] == f"http://{callee}:8443", where
            kind = env["MOSAIC_PROCESS"]
            assert kind in (*service.processes, RELEASE, *(j.name for j in service.jobs))
            expected = set(istio.mesh_env(service, kind))
            expected |= set(deployed_env(service, kind, "", "")) - set(container_env(service, kind))
            expected -= set(secret_variables(service))  # files of its Secret, never variables
            assert set(env) == expected, where
            seen += 1
    assert seen >= sum(len(s.processes) + len(s.jobs) for s in services)
    for d in built:
        if d["kind"] == "Service":
            assert [p["appProtocol"] for p in d["spec"]["ports"]] == ["http"], d["metadata"]


def test_the_identity_the_pods_compare_is_the_one_istio_asserts(
    built: list[dict[str, Any]],
    policies: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A service's token issuer is checked against MESH_IDENTITY filled with the issuer; Istio
    writes the caller's ServiceAccount into the header and matches principals by it. So the
    pods' ServiceAccounts are named after their services, the principals are MESH_IDENTITY
    without its scheme, and the chassis accepts the template."""
    for pod_name, pod in _pod_specs(built):
        service = next(
            e["value"] for e in pod["containers"][0]["env"] if e["name"] == "MOSAIC_SERVICE"
        )
        assert pod["serviceAccountName"] == service, pod_name
    for policy in _authorizations(policies):
        for rule in policy["spec"].get("rules", []):
            for principal in rule["from"][0]["source"]["principals"]:
                if principal != INGRESS_GATEWAY:
                    account = principal.rsplit("/", 1)[1]
                    assert f"spiffe://{principal}" == MESH_IDENTITY.format(service=account)
    monkeypatch.setenv("MOSAIC_SERVICE", "catalog")
    monkeypatch.setenv("OPS_PORT", "9090")
    monkeypatch.setenv("TRANSPORT_SECURITY", "mesh")
    monkeypatch.setenv("SERVICE_TRUST_DIR", str(tmp_path))
    monkeypatch.setenv("MESH_IDENTITY", MESH_IDENTITY)
    assert load_settings(ServiceSettings).mesh_identity == MESH_IDENTITY


def test_deploy_render_writes_the_component_and_check_finds_a_stale_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mosaic.cli import app
    from typer.testing import CliRunner

    monkeypatch.setenv("MOSAIC_SERVICES_DIR", str(services_dir()))
    (tmp_path / "pyproject.toml").write_text("[tool.uv.workspace]\nmembers = []\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", "render"]).exit_code == 0
    written = tmp_path / COMPONENT_DIR
    assert sorted(p.relative_to(written) for p in written.rglob("*")) == sorted(
        p.relative_to(ROOT / COMPONENT_DIR) for p in (ROOT / COMPONENT_DIR).rglob("*")
    )
    edited = written / "mesh-mode/catalog.yaml"
    edited.write_text(edited.read_text().replace("value: mesh", "value: mtls"))
    checked = runner.invoke(app, ["deploy", "render", "--check"])
    assert checked.exit_code == 1
    assert f"{COMPONENT_DIR}/mesh-mode/catalog.yaml: STALE" in checked.output
    assert f"{COMPONENT_DIR}/mesh.yaml: current" in checked.output
