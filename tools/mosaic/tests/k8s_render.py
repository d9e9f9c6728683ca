"""Reading and rendering deploy/k8s in the tests of its components: the committed objects of
a folder, the base with one component through `kubectl kustomize`, and an object checked
against the Kubernetes API's schema."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES_VERSION = "1.31.0"  # the oldest minor GKE's regular channel still offers


def documents(text: str) -> list[dict[str, Any]]:
    """The objects of a YAML stream, parsed with libyaml (PyYAML's pure-Python parser takes
    0.3 s for one render, which ~180 tests of the overlays each read)."""
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


def committed(folder: Path) -> list[dict[str, Any]]:
    """Every object of the folder's YAML files but its kustomization, as committed."""
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            found += documents(path.read_text())
    return found


def base_with(component: str, workdir: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a throwaway overlay: the base with `component`, beside copies of
    the committed folders (the `../base` paths real overlays use). Skips without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    copy = workdir / "k8s"
    shutil.copytree(ROOT / "deploy/k8s", copy)
    overlay = copy / "checked"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [../base]\ncomponents: [../components/{component}]\n"
    )
    result = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def valid_for_the_api(document: dict[str, Any]) -> None:
    """Fail the test, naming the object, if the Kubernetes API's schema refuses it."""
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{document['kind']} {document['metadata']['name']}: {error.message}")
