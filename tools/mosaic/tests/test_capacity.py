"""The capacity model (bench/capacity.py) and what `mosaic deploy render` takes from it
(deploy/capacity.json): each web process's CPU request, its autoscaler's target and most
replicas."""

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from mosaic import kubernetes
from mosaic.containers import WEB
from mosaic.home import services_dir
from mosaic.kubernetes_pods import CAPACITY_FILE, RESOURCES
from mosaic.services import discover_services

ROOT = Path(__file__).resolve().parents[3]
# bench/ is scripts, not a package on the path (`pytest` does not put the cwd on sys.path).
_SPEC = importlib.util.spec_from_file_location("bench_capacity", ROOT / "bench" / "capacity.py")
assert _SPEC is not None and _SPEC.loader is not None
capacity = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(capacity)


def _run(requests: int, per_service: dict[str, float]) -> dict[str, Any]:
    return {"requests": requests, "cpu": {"per_service": per_service}}


RESULTS = {
    "started_at": "2026-12-07T01:00:00+00:00",
    "machine": {"git_commit": "abc", "cpu_count": 2},
    "modes": {
        "microservices": {
            "closed": {
                "browse": _run(100, {"frontend": 0.3, "catalog": 0.2, "postgres": 0.1}),
                "checkout": _run(10, {"frontend": 0.05, "orders": 0.3, "postgres": 0.05}),
            }
        }
    },
}


def test_the_model_turns_cpu_per_action_into_cores_and_replicas() -> None:
    found = capacity.model(RESULTS, "bench-results/x/results.json")
    frontend = found["services"]["frontend"]
    assert frontend["cpu_ms_per_action"] == {"browse": 3.0, "checkout": 5.0}
    assert frontend["cores"] == pytest.approx(1000 * 0.003 + 100 * 0.005)  # 3.5
    # 500m a pod, held at 70 %: 350 millicores of work a replica
    assert frontend["max_replicas"] == math.ceil(3500 / 350) == 10
    assert found["services"]["catalog"]["max_replicas"] == math.ceil(2000 / 350)
    assert found["services"]["orders"]["max_replicas"] == math.ceil(3000 / 350)
    assert found["services"]["orders"]["cpu_request"] == "500m"
    assert "postgres" in found["backing"]
    assert "postgres" not in found["services"]
    assert found["flows"]["browse"]["cpu_ms_per_action"] == pytest.approx(6.0)
    assert found["source"]["results"] == "bench-results/x/results.json"


def test_a_service_two_small_pods_serve_requests_autopilots_smallest_step() -> None:
    micro = RESULTS["modes"]["microservices"]  # type: ignore[index]
    light = {**micro["closed"], "checkout": _run(10, {"payments": 0.02, "orders": 0.3})}
    found = capacity.model({**RESULTS, "modes": {"microservices": {"closed": light}}}, "x")
    payments = found["services"]["payments"]  # 2 ms a checkout: 0.2 cores at 100/s
    assert (payments["cpu_request"], payments["max_replicas"]) == ("250m", 2)


def test_the_pages_phase_product_page_replaces_the_browse_flow() -> None:
    micro = RESULTS["modes"]["microservices"]  # type: ignore[index]
    paged = {**RESULTS, "modes": {"microservices": {**micro, "page": _run(1000, {"catalog": 1})}}}
    found = capacity.model(paged, "x")
    assert found["services"]["catalog"]["cpu_ms_per_action"]["browse"] == 1.0
    assert found["services"]["frontend"]["cpu_ms_per_action"]["browse"] == 0.0


def test_the_render_takes_cpu_requests_and_autoscalers_from_the_committed_model() -> None:
    model = json.loads((ROOT / CAPACITY_FILE).read_text())
    assert model["services"], "deploy/capacity.json sizes no service"
    documents = []
    for path, text in kubernetes.render(discover_services(services_dir(None))).items():
        if path.name != "kustomization.yaml":
            documents += [d for d in yaml.safe_load_all(text) if d]
    scalers = {
        d["metadata"]["name"]: d for d in documents if d["kind"] == "HorizontalPodAutoscaler"
    }
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    checked = set()
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        service = labels["app.kubernetes.io/name"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        requests = container["resources"]["requests"]
        sized = model["services"].get(service)
        if labels["app.kubernetes.io/component"] != WEB or sized is None:
            assert requests == RESOURCES["requests"], deployment["metadata"]["name"]
            continue
        assert requests["cpu"] == sized["cpu_request"]
        assert requests["memory"] == RESOURCES["requests"]["memory"]  # pod_sizing's
        spec = scalers[service]["spec"]
        assert spec["maxReplicas"] == max(sized["max_replicas"], kubernetes.MIN_REPLICAS)
        target = spec["metrics"][0]["resource"]["target"]["averageUtilization"]
        assert target == model["hpa_target_percent"]
        checked.add(service)
    assert checked == set(model["services"]) & set(scalers)  # every sized web process


def test_a_check_run_is_compared_per_flow_and_service() -> None:
    found = capacity.model(RESULTS, "x")
    micro = RESULTS["modes"]["microservices"]  # type: ignore[index]
    browse = _run(100, {"frontend": 0.6, "catalog": 0.2, "postgres": 0.1})  # frontend twice
    scaled = {
        **RESULTS,
        "modes": {"microservices": {"closed": {**micro["closed"], "browse": browse}}},
    }
    lines = capacity.check(found, scaled).splitlines()
    assert "| browse, frontend | 3.00 | 6.00 | 2.00 |" in lines
    assert "| browse, catalog | 2.00 | 2.00 | 1.00 |" in lines
    assert "| checkout | 40.00 | 40.00 | 1.00 |" in lines
