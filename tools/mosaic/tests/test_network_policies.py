"""deploy/k8s/components/network-policies: rendered from the policy data, committed as
rendered, rendered by kustomize together with the base, valid for the Kubernetes API, and
allowing exactly the service graph: the flows the committed policies allow are worked out
pod by pod and compared with the routes' allowlists and [tool.mosaic], both ways."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mosaic import kubernetes, network_policies
from mosaic.containers import EDGE_PORT, OPS_PORT, WEB, api_port
from mosaic.home import services_dir
from mosaic.kubernetes_provision import PROVISION
from mosaic.network_policies import COMPONENT, COMPONENT_DIR, NAME, SERVERS
from mosaic.services import OPERATOR, Service

from tools.mosaic.tests.k8s_render import base_with, committed, valid_for_the_api

ROOT = Path(__file__).resolve().parents[3]
ANYWHERE = ("anywhere", None)  # a rule without peers: any source or destination
KUBE_DNS = ("kube-dns", None)

Pod = tuple[str, str | None]  # (app.kubernetes.io/name, app.kubernetes.io/component)
Flow = tuple[Pod, Pod, tuple[str, int]]  # from, to, (protocol, port)


@pytest.fixture(scope="module")
def policies() -> list[dict[str, Any]]:
    """The committed component's documents, as an overlay applies them."""
    found = committed(ROOT / COMPONENT_DIR)
    assert found and {d["kind"] for d in found} == {"NetworkPolicy"}
    return found


@pytest.fixture(scope="module")
def pods() -> list[dict[str, str]]:
    """The labels of every pod of the committed base (the provisioning Job's too), and of the
    backing servers' pods as the dev overlay labels them (the base runs no server)."""
    found = []
    for d in committed(ROOT / kubernetes.BASE_DIR):
        if d["kind"] in ("Deployment", "Job"):
            found.append(d["spec"]["template"]["metadata"]["labels"])
        elif d["kind"] == "CronJob":
            found.append(d["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"])
    return found + [{NAME: server} for server in SERVERS]


def _pod(labels: dict[str, str]) -> Pod:
    return labels[NAME], labels.get(COMPONENT)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # the model knows matchLabels only
    wanted: dict[str, str] = selector.get("matchLabels", {})
    return wanted.items() <= labels.items()


def _peers(rule: dict[str, Any], key: str, pods: list[dict[str, str]]) -> Iterator[Pod]:
    if key not in rule:
        yield ANYWHERE
        return
    for peer in rule[key]:
        assert "ipBlock" not in peer, peer  # the base knows no address: overlays patch those
        if "namespaceSelector" in peer:
            assert peer == network_policies.DNS, peer  # the only peer outside the namespace
            yield KUBE_DNS
        else:
            yield from (_pod(p) for p in pods if _selects(peer["podSelector"], p))


def _ports(rule: dict[str, Any]) -> list[tuple[str, int]]:
    assert rule.get("ports"), rule  # a rule without ports would allow every port
    return [(p["protocol"], p["port"]) for p in rule["ports"]]


def _flows(policies: list[dict[str, Any]], pods: list[dict[str, str]], direction: str) -> set[Flow]:
    """Every (from, to, port) a policy allows in `direction` ("ingress" or "egress")."""
    flows = set()
    for policy in policies:
        spec = policy["spec"]
        selected = [_pod(p) for p in pods if _selects(spec["podSelector"], p)]
        key = "from" if direction == "ingress" else "to"
        for rule in spec.get(direction, []):
            for peer in _peers(rule, key, pods):
                for port in _ports(rule):
                    for pod in selected:
                        flows.add((peer, pod, port) if key == "from" else (pod, peer, port))
    return flows


def _between(flows: set[Flow], names: set[str]) -> set[tuple[str, str]]:
    return {(a[0], b[0]) for a, b, _ in flows if a[0] in names and b[0] in names}


def test_the_committed_component_is_what_the_policy_data_renders(
    services: list[Service],
) -> None:
    rendered = network_policies.render(services, network_policies.http_edges(services))
    for path, text in rendered.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    leftovers = {p.relative_to(ROOT) for p in (ROOT / COMPONENT_DIR).iterdir()}
    assert leftovers == set(rendered), "a file in the component that nothing renders"


def test_kubectl_kustomize_renders_the_base_with_the_component(
    tmp_path: Path, policies: list[dict[str, Any]]
) -> None:
    built = base_with("network-policies", tmp_path)
    found = {d["metadata"]["name"] for d in built if d["kind"] == "NetworkPolicy"}
    assert found == {p["metadata"]["name"] for p in policies}
    base = committed(ROOT / kubernetes.BASE_DIR)
    assert len(built) == len(base) + len(policies)
    for d in built:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == kubernetes.NAMESPACE, d["metadata"]["name"]


def test_every_policy_is_valid_for_the_kubernetes_api(policies: list[dict[str, Any]]) -> None:
    for d in policies:
        valid_for_the_api(d)


def test_every_pod_is_selected_and_every_policy_selects_a_pod(
    policies: list[dict[str, Any]], pods: list[dict[str, str]]
) -> None:
    for labels in pods:
        chosen = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        assert chosen, f"no NetworkPolicy selects {labels}"
    for policy in policies:
        assert any(_selects(policy["spec"]["podSelector"], p) for p in pods), policy["metadata"]
    (deny,) = [p for p in policies if p["metadata"]["name"] == "default-deny"]
    assert deny["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [],
    }


def test_the_http_rules_are_exactly_the_allowlist_edges(
    services: list[Service], policies: list[dict[str, Any]], pods: list[dict[str, str]]
) -> None:
    """Both ways: each edge of the allowlists has its ingress and its egress, and no rule lets
    a pair of services talk that no allowlist names. The operator (`admin`) is no pod."""
    edges = set(network_policies.http_edges(services))
    assert edges and all(OPERATOR not in e for e in edges)
    names = {s.name for s in services}
    ingress, egress = _flows(policies, pods, "ingress"), _flows(policies, pods, "egress")
    assert _between(ingress, names) == edges
    assert _between(egress, names) == edges
    by_name = {s.name: s for s in services}
    for caller, callee in edges:
        port = ("TCP", api_port(by_name[callee]))
        # Allowlists are per service: every pod of the caller, of every process type.
        for labels in pods:
            if labels[NAME] == caller:
                assert (_pod(labels), (callee, WEB), port) in ingress, (labels, callee)
                assert (_pod(labels), (callee, WEB), port) in egress, (labels, callee)
    for flows in (ingress, egress):
        for a, b, port in flows:
            if a[0] in names and b[0] in names:  # a service to a service: its web API only
                assert b[1] == WEB and port == ("TCP", api_port(by_name[b[0]])), (a, b, port)


def test_from_outside_only_the_edge_and_the_probes_and_out_only_to_dns(
    services: list[Service], policies: list[dict[str, Any]], pods: list[dict[str, str]]
) -> None:
    (edge,) = [s.name for s in services if s.edge]
    every = {_pod(p) for p in pods}
    opened = {(b, port) for a, b, port in _flows(policies, pods, "ingress") if a == ANYWHERE}
    assert opened == {((edge, WEB), ("TCP", EDGE_PORT))} | {(p, ("TCP", OPS_PORT)) for p in every}
    outward = {(a, b, port) for a, b, port in _flows(policies, pods, "egress") if b[1] is None}
    outward = {f for f in outward if f[1][0] not in SERVERS}
    assert ANYWHERE not in {b for _, b, _ in outward}
    assert outward == {(p, KUBE_DNS, (proto, 53)) for p in every for proto in ("UDP", "TCP")}


def test_each_service_reaches_exactly_its_own_backing_servers(
    services: list[Service], policies: list[dict[str, Any]], pods: list[dict[str, str]]
) -> None:
    """From [tool.mosaic] backing: postgres to Postgres, valkey or broker (events:<svc>
    streams) to Valkey, smtp to the mailbox; both the egress and the server's ingress. And
    the provisioning Job's pod to Postgres and Valkey, with their admin users."""
    ports = {name: ("TCP", port) for name, (port, _) in SERVERS.items()}
    expected: set[tuple[str, str]] = set()
    for service in services:
        uses = set()
        if "postgres" in service.backing:
            uses.add("postgres")
        if {"valkey", "broker"} & service.backing:
            uses.add("valkey")
        if "smtp" in service.backing:
            uses.add("mailbox")
        expected |= {(service.name, server) for server in uses}
    expected |= {(PROVISION, "postgres"), (PROVISION, "valkey")}
    for direction in ("ingress", "egress"):
        flows = _flows(policies, pods, direction)
        # From anywhere: the ops probes, which the test above pins down.
        to_servers = {(a, b, p) for a, b, p in flows if b[0] in SERVERS and a != ANYWHERE}
        assert {(a[0], b[0]) for a, b, _ in to_servers} == expected, direction
        assert all(port == ports[b[0]] for _, b, port in to_servers), direction
        for user, server in expected:  # every process type: release, relay, job alike
            for labels in pods:
                if labels[NAME] == user:
                    assert (_pod(labels), (server, None), ports[server]) in flows, labels
    egress = _flows(policies, pods, "egress")
    from_servers = {(a, b) for a, b, _ in egress if a[0] in SERVERS and b != KUBE_DNS}
    assert not from_servers  # a server starts no connection but its name lookups


def test_deploy_render_writes_the_component_and_check_finds_a_stale_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mosaic deploy render` in a workspace of its own writes the component; `--check` then
    names a policy edited by hand."""
    from mosaic.cli import app
    from typer.testing import CliRunner

    monkeypatch.setenv("MOSAIC_SERVICES_DIR", str(services_dir()))
    (tmp_path / "pyproject.toml").write_text("[tool.uv.workspace]\nmembers = []\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", "render"]).exit_code == 0
    written = tmp_path / COMPONENT_DIR
    assert {p.name for p in written.iterdir()} == {p.name for p in (ROOT / COMPONENT_DIR).iterdir()}
    assert runner.invoke(app, ["deploy", "render", "--check"]).exit_code == 0
    edited = written / "catalog.yaml"
    edited.write_text(edited.read_text().replace("name: cart", "name: shipping"))
    checked = runner.invoke(app, ["deploy", "render", "--check"])
    assert checked.exit_code == 1
    assert f"{COMPONENT_DIR}/catalog.yaml: STALE" in checked.output
    assert f"{COMPONENT_DIR}/orders.yaml: current" in checked.output
