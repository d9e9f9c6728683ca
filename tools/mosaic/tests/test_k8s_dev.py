"""deploy/k8s/overlays/dev and `mosaic deploy k8s secrets`, offline: the overlay renders with
kustomize and is valid for the Kubernetes API (strict, at a pinned version); its servers are
StatefulSets on claims, labelled as the network policies select them; and every Secret and
ConfigMap a pod of it names is one the command writes, key for key, and nothing more. The
command's file parses with no key twice, says the same on a second run, and its URLs hold
the very passwords the provisioning Job converges the servers to."""

import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from cryptography import x509
from mosaic import kubernetes_provision, kubernetes_servers
from mosaic.compose import DATA_DIR
from mosaic.home import services_dir
from mosaic.network_policies import NAME, SERVERS
from mosaic.pki import ensure_pki
from mosaic.pki.files import Pki
from mosaic.services import OPERATOR, Service
from mosaic_testing import mosaic

from tools.mosaic.tests.k8s_render import valid_for_the_api

ROOT = Path(__file__).resolve().parents[3]
OVERLAY = ROOT / kubernetes_servers.OVERLAY_DIR
NAMESPACE = "mosaic"

Reference = tuple[str, str]  # (Secret or ConfigMap, its name)


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOSAIC_")}
    env["MOSAIC_SERVICES_DIR"] = str(services_dir())
    return mosaic("deploy", "k8s", "secrets", *args, env=env, timeout=60)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `mosaic deploy k8s secrets --dev` writes, with its state beside it."""
    folder = tmp_path_factory.mktemp("k8s-secrets")
    done = _run("--dev", "--state", str(folder / "state"), "--out", str(folder / "out.yaml"))
    assert done.returncode == 0, done.stderr
    return folder


class _UniqueKeys(yaml.SafeLoader):
    """A loader that refuses a mapping with a key twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = {k for k in keys if keys.count(k) > 1}
        assert not twice, f"{twice} twice at line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep=deep)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_UniqueKeys) if d]


def _decoded(document: dict[str, Any]) -> dict[str, str]:
    if document["kind"] == "ConfigMap":
        return dict(document["data"])
    return {k: base64.b64decode(v).decode() for k, v in document["data"].items()}


def _by_name(path: Path) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: _decoded(d) for d in _documents(path)}


def _pod_specs(documents: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for d in documents:
        if d["kind"] in ("Deployment", "StatefulSet", "Job"):
            found.append((d["metadata"]["name"], d["spec"]["template"]["spec"]))
        elif d["kind"] == "CronJob":
            template = d["spec"]["jobTemplate"]["spec"]["template"]
            found.append((d["metadata"]["name"], template["spec"]))
    return found


def _of(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


# --- the overlay --------------------------------------------------------------------------


def test_the_committed_servers_are_what_the_data_renders(services: list[Service]) -> None:
    for path, text in kubernetes_servers.render(services).items():
        assert (ROOT / path).read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    # The rest of the folder is hand-written: its kustomization only.
    assert {p.name for p in OVERLAY.iterdir()} == {"kustomization.yaml", "servers.yaml"}


def test_every_document_is_valid_for_the_kubernetes_api(rendered: list[dict[str, Any]]) -> None:
    for d in rendered:
        valid_for_the_api(d)
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == NAMESPACE, d["metadata"]["name"]


def test_the_servers_run_as_the_network_policies_select_them(
    rendered: list[dict[str, Any]],
) -> None:
    """Postgres, Valkey and the mailbox: a StatefulSet each, its pod labelled with the name
    the policies select, its Service of that name on the port they open, its headless one;
    its own ingress policy selects it; and each policy of the overlay selects a pod."""
    sets = {d["metadata"]["name"]: d for d in _of(rendered, "StatefulSet")}
    assert set(sets) == set(SERVERS)
    endpoints = {d["metadata"]["name"]: d for d in _of(rendered, "Service")}
    for server, (port, _) in SERVERS.items():
        pod_labels = sets[server]["spec"]["template"]["metadata"]["labels"]
        assert pod_labels[NAME] == server
        for name in (server, f"{server}-headless"):
            selector = endpoints[name]["spec"]["selector"]
            assert selector.items() <= pod_labels.items(), name
            assert port in [p["port"] for p in endpoints[name]["spec"]["ports"]], name
        assert endpoints[f"{server}-headless"]["spec"]["clusterIP"] == "None"
        assert sets[server]["spec"]["serviceName"] == f"{server}-headless"
    pods = [
        d["spec"]["template"]["metadata"]["labels"]
        for d in rendered
        if d["kind"] in ("Deployment", "StatefulSet", "Job")
    ]
    policies = {p["metadata"]["name"]: p for p in _of(rendered, "NetworkPolicy")}
    for name, policy in policies.items():
        wanted = policy["spec"]["podSelector"].get("matchLabels", {})
        assert any(wanted.items() <= p.items() for p in pods), f"{name} selects no pod"
    for server, (port, _) in SERVERS.items():  # its own ingress rule selects its pod
        pod_labels = sets[server]["spec"]["template"]["metadata"]["labels"]
        ingress = policies[f"{server}-ingress"]["spec"]
        assert ingress["podSelector"]["matchLabels"].items() <= pod_labels.items()
        assert {"protocol": "TCP", "port": port} in ingress["ingress"][0]["ports"]


def test_the_servers_keep_their_data_on_claims_and_are_restricted(
    rendered: list[dict[str, Any]],
) -> None:
    for server in _of(rendered, "StatefulSet"):
        name = server["metadata"]["name"]
        spec = server["spec"]
        (claim,) = spec["volumeClaimTemplates"]
        assert claim["metadata"]["name"] == "data"
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert claim["spec"]["resources"]["requests"]["storage"]
        pod = spec["template"]["spec"]
        assert "data" not in {v["name"] for v in pod["volumes"]}, name  # no emptyDir in its place
        (container,) = pod["containers"]
        assert {"name": "data", "mountPath": DATA_DIR} in container["volumeMounts"], name
        assert container["command"][:3] == ["mosaic", "serve", name]
        assert container["image"].startswith("localhost/mosaic/tools:"), name
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, (name, probe)
        assert container["readinessProbe"] != container["livenessProbe"], name
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, name


def test_one_replica_per_web_process_and_the_shop_at_the_port_forward(
    rendered: list[dict[str, Any]],
) -> None:
    scalers = _of(rendered, "HorizontalPodAutoscaler")
    assert scalers and all(s["spec"]["minReplicas"] == 1 for s in scalers)
    (config,) = [d for d in _of(rendered, "ConfigMap") if d["metadata"]["name"] == "mosaic-config"]
    assert config["data"]["SHOP_URL"] == "http://localhost:8080"


def test_web_pods_request_a_tenth_of_a_core_not_the_capacity_models_share(
    rendered: list[dict[str, Any]],
) -> None:
    webs = [
        d
        for d in _of(rendered, "Deployment")
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "web"
    ]
    assert webs
    for web in webs:
        (container,) = web["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["requests"]["cpu"] == "100m", web["metadata"]["name"]


def test_the_provisioning_job_converges_to_the_secrets_and_ends(
    rendered: list[dict[str, Any]],
) -> None:
    (job,) = _of(rendered, "Job")
    spec = job["spec"]
    assert spec["backoffLimit"] > 0 and spec["activeDeadlineSeconds"] > 0
    assert spec["ttlSecondsAfterFinished"] > 0
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    argv = container["command"]
    assert argv[:3] == ["mosaic", "admin", "provision"]
    files = {argv[i + 1] for i, a in enumerate(argv) if a.endswith("-file")}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "admin"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "admin"]
    assert volume["secret"]["secretName"] == kubernetes_provision.SECRET
    # Every file it reads is in the Secret's volume; passwords.json among them.
    assert files == {f"{mount['mountPath']}/{i['path']}" for i in volume["secret"]["items"]}
    assert f"{mount['mountPath']}/{kubernetes_provision.PASSWORDS}" in files
    out = argv[argv.index("--out") + 1]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == out]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume  # its output is dropped: the Secrets hold it already
    assert "--wait" in argv


# --- the Secrets and ConfigMaps ---------------------------------------------------------


def _references(documents: list[dict[str, Any]]) -> dict[Reference, set[str] | None]:
    """Every Secret and ConfigMap a pod names, with the keys it reads (None: the whole of it,
    mounted as a folder)."""
    found: dict[Reference, set[str] | None] = {}

    def note(kind: str, name: str, keys: set[str] | None) -> None:
        before = found.get((kind, name), set())
        found[(kind, name)] = None if keys is None or before is None else before | keys

    for _, pod in _pod_specs(documents):
        for volume in pod.get("volumes", []):
            for kind, field, key in (
                ("Secret", "secret", "secretName"),
                ("ConfigMap", "configMap", "name"),
            ):
                if field in volume:
                    items = volume[field].get("items")
                    note(kind, volume[field][key], {i["key"] for i in items} if items else None)
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for entry in container.get("env", []):
                source = entry.get("valueFrom", {})
                for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if field in source:
                        note(kind, source[field]["name"], {source[field]["key"]})
    return found


def test_every_secret_and_config_a_pod_names_is_written_and_nothing_else(
    rendered: list[dict[str, Any]], written: Path, services: list[Service]
) -> None:
    """Both ways, by name and by key: what the pods of the dev overlay read is what `mosaic
    deploy k8s secrets --dev` writes (the overlay's own mosaic-config aside)."""
    made_here = {(d["kind"], d["metadata"]["name"]) for d in rendered}
    wanted = {ref: keys for ref, keys in _references(rendered).items() if ref not in made_here}
    documents = _documents(written / "out.yaml")
    got = {(d["kind"], d["metadata"]["name"]): set(_decoded(d)) for d in documents}
    assert set(got) == set(wanted)
    for ref, keys in wanted.items():
        if keys is not None:
            assert got[ref] == keys, ref  # items listed: each there, none unread
    # Mounted whole: the identity files the settings name, the trust store's keys.
    names = [s.name for s in services]
    identity = {"tls.crt", "tls.key", "signing.key"}
    for name in names:
        assert got[("Secret", f"{name}-identity")] == identity
    assert got[("ConfigMap", "mosaic-trust")] == {f"{n}.pub" for n in [*names, OPERATOR]}
    read = set()
    for _, pod in _pod_specs(rendered):
        for container in pod["containers"]:
            for entry in container.get("env", []):
                if entry.get("value", "").startswith("/run/mosaic/identity/"):
                    read.add(entry["value"].rpartition("/")[2])
    assert read == identity
    for document in documents:
        assert document["metadata"]["namespace"] == NAMESPACE
        valid_for_the_api(document)


def test_the_file_is_private_and_parses_with_no_key_twice(written: Path) -> None:
    path = written / "out.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((written / "state").stat().st_mode) == 0o700
    names = [(d["kind"], d["metadata"]["name"]) for d in _documents(path)]
    assert len(names) == len(set(names))


def test_a_second_run_writes_the_same_and_stdout_too(written: Path) -> None:
    state = written / "state"
    again = _run("--dev", "--state", str(state), "--out", "-")
    assert again.returncode == 0, again.stderr
    assert again.stdout == (written / "out.yaml").read_text()
    assert "issued" not in again.stderr  # nothing new: same CA, certificates, keys


def test_the_urls_hold_the_passwords_the_job_provisions(
    written: Path, services: list[Service]
) -> None:
    """The Job converges the servers to passwords.json; the services' URLs must hold the same,
    at the dev overlay's Services; the admin URLs the passwords the servers start with."""
    found = _by_name(written / "out.yaml")
    provision = found[kubernetes_provision.SECRET]
    passwords = json.loads(provision[kubernetes_provision.PASSWORDS])
    assert not [k for k in passwords if k.endswith("/admin")]  # the Job needs none of those
    variables = {"DATABASE_URL": "postgres", "REDIS_URL": "valkey", "BROKER_URL": "broker"}
    for service in services:
        for variable, url in found.get(f"{service.name}-backing", {}).items():
            if variable == "CSRF_SECRET":
                assert url == passwords[f"csrf/{service.name}"]
                continue
            if variable == "SMTP_URL":
                assert url == "smtp://mailbox:1025"  # the dev mailbox takes no password
                continue
            parts = urlsplit(url)
            assert parts.password == passwords[f"{variables[variable]}/{service.name}"]
            expected = "postgres:5432" if variable == "DATABASE_URL" else "valkey:6379"
            assert f"{parts.hostname}:{parts.port}" == expected
    for server in ("postgres", "valkey"):
        admin_url = urlsplit(provision[f"{server}-admin-url"])
        assert admin_url.hostname == server
        assert admin_url.password == found[f"{server}-admin"][f"{server}-password"]


def test_certificates_carry_the_in_cluster_names(written: Path) -> None:
    found = _by_name(written / "out.yaml")
    cert = x509.load_pem_x509_certificate(found["orders-identity"]["tls.crt"].encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(sans.get_values_for_type(x509.DNSName))
    assert {
        "orders",
        "orders.mosaic",
        "orders.mosaic.svc",
        "orders.mosaic.svc.cluster.local",
    } <= names
    ca = x509.load_pem_x509_certificate(found["mosaic-ca"]["ca.crt"].encode())
    cert.verify_directly_issued_by(ca)


def test_a_pki_without_the_cluster_names_gets_them(tmp_path: Path) -> None:
    """A state folder whose PKI came from `mosaic up` (no in-cluster names): re-issued."""
    ensure_pki(tmp_path / "state", ["orders"])
    before = Pki.of(tmp_path / "state").service("orders").cert.read_bytes()
    done = _run("--dev", "--state", str(tmp_path / "state"), "--out", str(tmp_path / "o.yaml"))
    assert done.returncode == 0, done.stderr
    assert "certificate of orders (without DNS name orders.mosaic" in done.stderr
    after = _by_name(tmp_path / "o.yaml")["orders-identity"]["tls.crt"].encode()
    assert after != before


def test_own_servers_by_admin_url_and_the_hosts_the_pods_use(tmp_path: Path) -> None:
    done = _run(
        "--postgres-admin-url", "postgresql://root:pw@10.0.0.5:5432/postgres?sslmode=require",
        "--valkey-admin-url", "rediss://default:pw@10.0.0.6:6378/0",
        "--postgres-host", "127.0.0.1:5432",
        "--valkey-host", "10.0.0.6",
        "--smtp-url", "smtp://relay:pass@smtp.example.com:587",
        "--state", str(tmp_path / "state"),
        "--out", str(tmp_path / "o.yaml"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = _by_name(tmp_path / "o.yaml")
    assert "postgres-admin" not in found and "valkey-admin" not in found  # servers of your own
    orders = found["orders-backing"]
    assert orders["DATABASE_URL"].startswith("postgresql://orders:")
    assert orders["DATABASE_URL"].endswith("@127.0.0.1:5432/orders?sslmode=require")
    assert orders["BROKER_URL"].endswith("@10.0.0.6:6378/0")
    assert orders["BROKER_URL"].startswith("rediss://broker.orders:")
    relay = "smtp://relay:pass@smtp.example.com:587"
    assert found["notifications-backing"]["SMTP_URL"] == relay
    assert found["mosaic-provision"]["postgres-admin-url"].startswith("postgresql://root:pw@10.0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no admin URL for Postgres"),
        (("--dev", "--postgres-host", "postgres:none"), "--postgres-host: 'postgres:none'"),
        (("--dev", "--valkey-admin-url", "redis://a:b@v:1"), "give --dev or admin URLs"),
        (("--dev", "--namespace", "Shop"), "--namespace: 'Shop' is no namespace name"),
        (("--dev", "--smtp-url", "mailbox:1025"), "--smtp-url: not an smtp://"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = _run(*args, "--state", str(tmp_path / "state"), "--out", str(tmp_path / "o.yaml"))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state").exists()  # nothing made for a command refused
    assert not (tmp_path / "o.yaml").exists()


def test_an_unwritable_state_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = _run("--dev", "--state", str(tmp_path / "file/state"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2, done.stderr
    assert f"cannot keep the state in {tmp_path / 'file/state'}" in done.stderr
    assert "Traceback" not in done.stderr
