"""deploy/k8s/components/cert-manager: rendered per service, committed as rendered, rendered by
kustomize together with the base; the core kinds valid for the Kubernetes API and
cert-manager's kinds for the fields we use (no offline schema of its CRDs installs here);
every service a Certificate with the profile of our PKI's leaves and the names its callers
dial; every pod's identity folder from its own service's Secrets."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from chassis.tls import spiffe_id as chassis_spiffe_id
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from mosaic import cert_manager, kubernetes
from mosaic.cert_manager import API, COMPONENT_DIR, ISSUER
from mosaic.containers import IDENTITY_DIR
from mosaic.pki.issuing import issue_ca, issue_leaf
from mosaic.services import Service

from tools.mosaic.tests.k8s_render import base_with, committed, valid_for_the_api

ROOT = Path(__file__).resolve().parents[3]
CERT_MANAGER_KINDS = {"Issuer", "Certificate"}
# cert-manager's names for the key usages (its KeyUsage values) our PKI's leaves carry.
USAGES = {
    "digital signature": "digital_signature",
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
}
HOURS = re.compile(r"^(\d+)h$")


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    """The component's own objects (not its patches), as committed."""
    found = committed(ROOT / COMPONENT_DIR)
    assert found and {d["kind"] for d in found} == CERT_MANAGER_KINDS
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a throwaway overlay: the base with the component."""
    return base_with("cert-manager", tmp_path_factory.mktemp("cert-manager"))


def _pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for d in documents:
        if d["kind"] == "Deployment":
            yield d["metadata"]["name"], d["spec"]["template"]["spec"]
        elif d["kind"] == "CronJob":
            yield d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _certificates(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"] for d in objects if d["kind"] == "Certificate"}


def test_the_committed_component_is_what_the_service_data_renders(
    services: list[Service],
) -> None:
    rendered = cert_manager.render(services)
    for path, text in rendered.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    found = {p.relative_to(ROOT) for p in (ROOT / COMPONENT_DIR).rglob("*") if p.is_file()}
    assert found == set(rendered), "a file in the component that nothing renders"


def test_kubectl_kustomize_renders_the_base_with_the_component(
    built: list[dict[str, Any]], objects: list[dict[str, Any]]
) -> None:
    base = committed(ROOT / kubernetes.BASE_DIR)
    assert len(built) == len(base) + len(objects)  # patches change objects, add none
    found = {(d["kind"], d["metadata"]["name"]) for d in built if d["kind"] in CERT_MANAGER_KINDS}
    assert found == {(d["kind"], d["metadata"]["name"]) for d in objects}
    for d in built:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == kubernetes.NAMESPACE, d["metadata"]["name"]


def test_every_core_object_is_valid_for_the_kubernetes_api(built: list[dict[str, Any]]) -> None:
    for d in built:
        if d["kind"] in CERT_MANAGER_KINDS:
            continue
        valid_for_the_api(d)


def test_cert_manager_s_objects_use_only_the_fields_it_knows(
    objects: list[dict[str, Any]],
) -> None:
    """A schema of our own for the fields we use, from cert-manager.io/v1's Issuer (CA) and
    Certificate: a misspelt field is dropped by the API server, and the certificate issued
    without it (a lost URI SAN would break every caller's identity check)."""
    for d in objects:
        name = f"{d['kind']} {d['metadata']['name']}"
        assert d["apiVersion"] == API, name
        assert set(d) == {"apiVersion", "kind", "metadata", "spec"}, name
        assert set(d["metadata"]) == {"name", "namespace"}, name
        spec = d["spec"]
        if d["kind"] == "Issuer":
            assert set(spec) == {"ca"} and set(spec["ca"]) == {"secretName"}, name
            continue
        assert set(spec) == {
            "secretName",
            "issuerRef",
            "commonName",
            "dnsNames",
            "uris",
            "privateKey",
            "usages",
            "duration",
            "renewBefore",
        }, name
        assert spec["issuerRef"] == {"name": ISSUER, "kind": "Issuer", "group": "cert-manager.io"}
        key = spec["privateKey"]
        assert set(key) <= {"algorithm", "size", "encoding", "rotationPolicy"}, name
        assert key["algorithm"] in {"RSA", "ECDSA", "Ed25519"}, name
        assert key.get("encoding", "PKCS1") in {"PKCS1", "PKCS8"}, name
        assert key.get("rotationPolicy", "Always") in {"Never", "Always"}, name
        assert set(spec["usages"]) <= set(USAGES), name
        duration, renew = (HOURS.match(spec[k]) for k in ("duration", "renewBefore"))
        assert duration and renew, name  # Go durations; hours are what we write
        assert int(duration[1]) >= 1 and int(renew[1]) < int(duration[1]), name


def test_every_service_has_a_certificate_with_its_own_identity_and_names(
    services: list[Service], objects: list[dict[str, Any]], built: list[dict[str, Any]]
) -> None:
    """The URI SAN is the SPIFFE ID the chassis binds tokens to; the DNS SANs hold every host
    a caller's `<SVC>_URL` dials (so the caller's hostname check passes); the Secret is the
    service's own."""
    certificates = _certificates(objects)
    assert set(certificates) == {s.name for s in services}
    for service in services:
        spec = certificates[service.name]
        assert spec["secretName"] == f"{service.name}-tls"
        assert spec["uris"] == [chassis_spiffe_id(service.name)]
        assert service.name in spec["dnsNames"]
        assert all(n == service.name or n.startswith(f"{service.name}.") for n in spec["dnsNames"])
    dialled = set()
    for _, pod in _pod_specs(built):
        for container in pod["containers"]:
            for variable in container["env"]:
                if variable["name"].endswith("_URL") and variable.get("value", "").startswith(
                    "https://"
                ):
                    dialled.add(urlsplit(variable["value"]).hostname)
    assert dialled
    for host in dialled:
        assert host in certificates and host in certificates[host]["dnsNames"], host


def test_the_certificates_have_the_profile_of_our_pki_s_leaves(
    objects: list[dict[str, Any]],
) -> None:
    """Each against a leaf our PKI issues for the service: the same key type and size, the
    same URI SAN, the same key usages, no longer a life."""
    ca = issue_ca()
    for name, spec in _certificates(objects).items():
        leaf = issue_leaf(ca, name).cert
        key = leaf.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert (spec["privateKey"]["algorithm"], spec["privateKey"]["size"]) == (
            "ECDSA",
            key.curve.key_size,
        ), name
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert spec["uris"] == sans.get_values_for_type(x509.UniformResourceIdentifier), name
        purposes = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        wanted = {u for u, oid in USAGES.items() if oid in purposes}
        wanted |= {u for u, f in USAGES.items() if isinstance(f, str) and getattr(usage, f)}
        assert set(spec["usages"]) == wanted, name
        life = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        hours = HOURS.match(spec["duration"])
        assert hours and int(hours[1]) * 3600 <= life.total_seconds(), name


def test_every_pod_takes_its_certificate_from_its_own_secrets(built: list[dict[str, Any]]) -> None:
    """The identity folder projects tls.crt and tls.key from `<svc>-tls` and signing.key from
    `<svc>-identity`, never another service's; the base's Secret source is gone (a volume
    with two sources is refused); the variables still point into the folder."""
    seen = 0
    for pod_name, pod in _pod_specs(built):
        service = pod["serviceAccountName"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "identity"]
        assert set(volume) == {"name", "projected"}, pod_name
        sources = {
            s["secret"]["name"]: [i["key"] for i in s["secret"]["items"]]
            for s in volume["projected"]["sources"]
        }
        assert sources == {
            f"{service}-tls": ["tls.crt", "tls.key"],
            f"{service}-identity": ["signing.key"],
        }, pod_name
        assert volume["projected"]["defaultMode"] == 0o440, pod_name
        for container in pod.get("initContainers", []) + pod["containers"]:
            mounts = {m["name"]: m for m in container["volumeMounts"]}
            assert mounts["identity"]["mountPath"] == str(IDENTITY_DIR), pod_name
            assert "subPath" not in mounts["identity"], pod_name  # updated in place
            env = {e["name"]: e.get("value") for e in container["env"]}
            for variable, key in (
                ("TLS_CERT_FILE", "tls.crt"),
                ("TLS_KEY_FILE", "tls.key"),
                ("SERVICE_SIGNING_KEY_FILE", "signing.key"),
            ):
                assert env[variable] == str(IDENTITY_DIR / key), (pod_name, variable)
        seen += 1
    assert seen
