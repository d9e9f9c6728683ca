"""Every render of deploy/k8s, found in the folders: each overlay (deploy/k8s/overlays/*),
and each overlay with each component (deploy/k8s/components/*) it does not list already.
Until an overlay exists, the base alone and the base with each component, named so in the
test ids. Each render: `kubectl kustomize` builds it; kubernetes-validate (strict, at the
pinned version) accepts every object of the Kubernetes API; checkov passes, with the skips
of deploy/k8s/.checkov.yaml; and the checks of k8s_checks.py hold."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from mosaic.services import Service

from tools.mosaic.tests import k8s_checks as checks
from tools.mosaic.tests import k8s_commands
from tools.mosaic.tests.k8s_render import KUBERNETES_VERSION, documents

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy/k8s"
CHECKOV_CONFIG = K8S / ".checkov.yaml"
# Custom resources: kubernetes-validate holds the schemas of the Kubernetes API only, so
# these are not validated by it (their controllers validate them at apply time). An API group
# not listed here and unknown to it fails the test: list it here, with what it is.
CUSTOM_RESOURCES = {
    "security.istio.io": "Istio: PeerAuthentication, AuthorizationPolicy",
    "networking.istio.io": "Istio: DestinationRule, Sidecar, Gateway, VirtualService",
    "cert-manager.io": "cert-manager: Issuer, ClusterIssuer, Certificate",
    "gateway.networking.k8s.io": "the Gateway API: Gateway, HTTPRoute (a CRD on GKE too)",
    "networking.gke.io": "GKE: ManagedCertificate, HealthCheckPolicy, GCPBackendPolicy",
    "cloud.google.com": "GKE: BackendConfig, FrontendConfig",
    "monitoring.coreos.com": "the Prometheus Operator: PodMonitor, PrometheusRule",
    "monitoring.googleapis.com": "GKE managed Prometheus: PodMonitoring, Rules",
}
# checkov's CKV2_K8S_6 (a pod no NetworkPolicy selects) is skipped in a render that has no
# policy at all: the network-policies component is what adds them, and a render without it
# is tested as such (the same rule as k8s_checks.network_policies_select_every_pod).
WITHOUT_POLICIES = ["CKV2_K8S_6"]


@dataclass(frozen=True)
class Render:
    id: str
    folder: Path  # the base or an overlay
    component: Path | None = None


def _folders(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if (p / "kustomization.yaml").is_file())


def _listed_components(overlay: Path) -> set[Path]:
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text()) or {}
    return {(overlay / c).resolve() for c in kustomization.get("components", [])}


def renders() -> list[Render]:
    overlays = _folders(K8S / "overlays")
    components = _folders(K8S / "components")
    if not overlays:
        base = K8S / "base"
        return [Render("base-alone-as-no-overlay-exists-yet", base)] + [
            Render(f"base+{c.name}-as-no-overlay-exists-yet", base, c) for c in components
        ]
    found = []
    for overlay in overlays:
        listed = _listed_components(overlay)
        found.append(Render(overlay.name, overlay))
        found += [
            Render(f"{overlay.name}+{c.name}", overlay, c)
            for c in components
            if c.resolve() not in listed
        ]
    return found


RENDERS = renders()
CHECKS = checks.CHECKS + k8s_commands.CHECKS


@pytest.fixture(scope="module")
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed")
    return found


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """Each render's output file, built once by `kubectl kustomize` when first asked for."""
    return {}


def _build(render: Render, kubectl: str, folder: Path) -> Path:
    target = render.folder
    if render.component is not None:
        # A throwaway overlay with relative paths to the real folders, as overlays use.
        target = folder / "overlay"
        target.mkdir()
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(render.folder, target)],
            "components": [os.path.relpath(render.component, target)],
        }
        (target / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    result = subprocess.run(
        [kubectl, "kustomize", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{render.id}: {result.stderr}"
    output = folder / "render.yaml"
    output.write_text(result.stdout)
    return output


@pytest.fixture
def rendered(
    request: pytest.FixtureRequest,
    kubectl: str,
    built: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[dict[str, Any]]]:
    """(the render's file, its documents); parametrized with a Render."""
    render: Render = request.param
    if render.id not in built:
        built[render.id] = _build(render, kubectl, tmp_path_factory.mktemp("render"))
    path = built[render.id]
    return path, documents(path.read_text())


def test_the_renders_are_found_in_the_folders() -> None:
    """Every component is rendered: with each overlay that does not list it, or by one that
    does; none twice in a render. The network-policies component is among them."""
    for parent in (K8S / "overlays", K8S / "components"):
        for folder in parent.iterdir() if parent.is_dir() else []:
            if folder.is_dir():  # else it would be left out of every render, unseen
                assert (folder / "kustomization.yaml").is_file(), f"{folder}: no kustomization"
    components = {c.resolve() for c in _folders(K8S / "components")}
    assert K8S.resolve() / "components/network-policies" in components
    covered = {r.component.resolve() for r in RENDERS if r.component is not None}
    for render in RENDERS:
        assert (render.folder / "kustomization.yaml").is_file(), render.id
        listed = _listed_components(render.folder)
        covered |= listed
        if render.component is not None:
            assert render.component.resolve() not in listed, render.id
    assert covered >= components


parametrized = pytest.mark.parametrize(
    "rendered", RENDERS, ids=[r.id for r in RENDERS], indirect=True
)


@parametrized
def test_kubectl_kustomize_renders_it(rendered: tuple[Path, list[dict[str, Any]]]) -> None:
    _, documents = rendered
    assert checks.of(documents, "Deployment"), "no Deployment: not a render of the base"


@parametrized
def test_every_api_object_is_valid_for_the_kubernetes_api(
    rendered: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, documents = rendered
    for d in documents:
        group = d["apiVersion"].rpartition("/")[0]
        if group in CUSTOM_RESOURCES:
            continue
        try:
            kubernetes_validate.validate(d, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(
                f"{checks.name(d)}: {d['apiVersion']} is not in the Kubernetes API; if it is a"
                " custom resource, add its group to CUSTOM_RESOURCES, saying what it is"
            )
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{checks.name(d)}: {error.message}")


@parametrized
@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_our_checks_hold(
    rendered: tuple[Path, list[dict[str, Any]]], services: list[Service], check: checks.Check
) -> None:
    check(rendered[1], services)


def _checkov_skips() -> list[str]:
    config = yaml.safe_load(CHECKOV_CONFIG.read_text())
    skips: list[str] = config["skip-check"]
    return skips


def _checkov(files: list[Path], skips: list[str] | None, folder: Path) -> list[dict[str, Any]]:
    """One run of checkov over the files given: its kubernetes report's checks, each with
    the file_path it was found in."""
    argv = [str(Path(sys.executable).parent / "checkov"), "--config-file", str(CHECKOV_CONFIG)]
    if skips is not None:  # the command line replaces the file's list
        argv += ["--skip-check", ",".join(skips)]
    argv += [arg for file in files for arg in ("-f", file.name)]
    result = subprocess.run(
        [*argv, "--output", "json"], capture_output=True, text=True, timeout=300, cwd=folder
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["check_type"] == "kubernetes", report
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    found = report["results"]
    return [
        {**check, "outcome": outcome}
        for outcome in ("passed", "failed", "skipped")
        for check in found.get(f"{outcome}_checks", [])
    ]


@pytest.fixture(scope="module")
def checkov_results(
    kubectl: str, built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """Render id -> checkov's checks of it. checkov runs twice for every render together,
    once with the skips of the config file and once adding WITHOUT_POLICIES for the renders
    that have no NetworkPolicy: its start (~15 s of CPU) once rather than once a render."""
    folder = tmp_path_factory.mktemp("checkov")
    groups: dict[bool, list[Path]] = {True: [], False: []}
    for render in RENDERS:
        if render.id not in built:
            built[render.id] = _build(render, kubectl, tmp_path_factory.mktemp("render"))
        file = folder / f"{render.id}.yaml"
        shutil.copyfile(built[render.id], file)
        objects = documents(built[render.id].read_text())
        groups[bool(checks.of(objects, "NetworkPolicy"))].append(file)
    results: dict[str, list[dict[str, Any]]] = {render.id: [] for render in RENDERS}
    for with_policies, files in groups.items():
        if not files:
            continue
        skips = None if with_policies else _checkov_skips() + WITHOUT_POLICIES
        for check in _checkov(files, skips, folder):
            results[Path(check["file_path"]).stem].append(check)
    return results


@pytest.mark.parametrize("render", RENDERS, ids=[r.id for r in RENDERS])
def test_checkov_passes(render: Render, checkov_results: dict[str, list[dict[str, Any]]]) -> None:
    """checkov's kubernetes checks, offline (no policy downloaded)."""
    found = checkov_results[render.id]
    assert any(c["outcome"] == "passed" for c in found), "checkov checked nothing of it"
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']}"
        for c in found
        if c["outcome"] == "failed"
    ]
    assert not failed, "checkov:\n" + "\n".join(failed)
    for skipped in (c for c in found if c["outcome"] == "skipped"):  # by an annotation
        reason = skipped["check_result"].get("suppress_comment") or ""
        assert reason.strip() and reason != "No comment provided", (
            f"{skipped['resource']}: {skipped['check_id']} skipped without a reason"
        )
