"""The scrape components reach every process: each Deployment's pods carry the label the
PodMonitor and the PodMonitoring select, and a port named as their endpoint's."""

from pathlib import Path
from typing import Any

import yaml
from mosaic import monitoring, slos, symptoms

ROOT = Path(__file__).resolve().parents[3]


def _documents(folder: Path) -> list[dict[str, Any]]:
    return [
        d for p in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d
    ]


def test_every_process_pod_is_selected_with_its_ops_port() -> None:
    scrapes = [
        yaml.safe_load((ROOT / folder / "scrape.yaml").read_text())
        for folder in (monitoring.OPERATOR_DIR, monitoring.GKE_DIR)
    ]
    deployments = [d for d in _documents(ROOT / "deploy/k8s/base") if d["kind"] == "Deployment"]
    assert len(deployments) >= 10
    for scrape in scrapes:
        selector = scrape["spec"]["selector"]["matchLabels"]
        endpoints = scrape["spec"].get("podMetricsEndpoints") or scrape["spec"]["endpoints"]
        assert [e["port"] for e in endpoints] == ["ops"]
        for deployment in deployments:
            pod = deployment["spec"]["template"]
            name = deployment["metadata"]["name"]
            assert selector.items() <= pod["metadata"]["labels"].items(), name
            ports = [p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])]
            assert "ops" in ports, f"{name}: no port named ops to scrape"


def test_the_committed_files_are_the_rendered_ones_and_no_others() -> None:
    """`mosaic deploy render` writes them; a hand edit or a stray file fails here."""
    rendered = monitoring.render() | slos.render() | symptoms.render()
    for path, text in rendered.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    folders = (monitoring.OPERATOR_DIR, monitoring.GKE_DIR, slos.RULES_DIR)
    found = {p.relative_to(ROOT) for f in folders for p in (ROOT / f).rglob("*") if p.is_file()}
    assert found == set(rendered)
