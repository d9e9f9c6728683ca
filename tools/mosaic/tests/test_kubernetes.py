"""deploy/k8s/base: rendered from the service data, committed as rendered, valid for the
Kubernetes API (offline, strict, at a pinned version), restricted, and holding what the
runner runs (services, process types, jobs, variable names, ports), nothing more; compose
the same."""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mosaic import compose, kubernetes, kubernetes_pods
from mosaic.backing.service_secrets import provisioned_variables
from mosaic.containers import API_PORT, EDGE_PORT, OPS_PORT, WEB, api_port
from mosaic.home import services_dir
from mosaic.schedules import cron_schedule
from mosaic.services import Service

from tools.mosaic.tests import k8s_checks as checks
from tools.mosaic.tests import k8s_commands
from tools.mosaic.tests.k8s_render import valid_for_the_api
from tools.mosaic.tests.runner_names import runner_names

ROOT = Path(__file__).resolve().parents[3]
UID = 10001


@pytest.fixture(scope="module")
def documents(services: list[Service]) -> list[dict[str, Any]]:
    rendered = kubernetes.render(services)
    found: list[dict[str, Any]] = []
    for path, text in rendered.items():
        if path.name != "kustomization.yaml":
            found += [d for d in yaml.safe_load_all(text) if d]
    return found


def _pods(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner name, pod template) of every Deployment, Job and CronJob."""
    for d in checks.of(documents, "Deployment") + checks.of(documents, "Job"):
        yield d["metadata"]["name"], d["spec"]["template"]
    for d in checks.of(documents, "CronJob"):
        yield d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]


def test_the_committed_files_are_what_the_service_data_renders(services: list[Service]) -> None:
    rendered = kubernetes.render(services)
    for path, text in rendered.items():
        committed = ROOT / path
        assert committed.is_file(), f"{path} is missing: run `mosaic deploy render`"
        assert committed.read_text() == text, f"{path} is stale: run `mosaic deploy render`"
    leftovers = {p.relative_to(ROOT) for p in (ROOT / kubernetes.BASE_DIR).iterdir()}
    assert leftovers == set(rendered), "a file in deploy/k8s/base that nothing renders"


def test_deploy_render_writes_the_base_and_check_finds_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mosaic deploy render` in a workspace of its own: writes compose.yaml and the base,
    then `--check` passes, and fails naming a Kubernetes file edited by hand."""
    from mosaic.cli import app
    from typer.testing import CliRunner

    monkeypatch.setenv("MOSAIC_SERVICES_DIR", str(services_dir()))
    (tmp_path / "pyproject.toml").write_text("[tool.uv.workspace]\nmembers = []\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    checked = runner.invoke(app, ["deploy", "render", "--check"])
    assert checked.exit_code == 1  # nothing is rendered yet
    assert "deploy/k8s/base/orders.yaml: STALE" in checked.output
    assert runner.invoke(app, ["deploy", "render"]).exit_code == 0
    assert (tmp_path / kubernetes.BASE_DIR / "orders.yaml").is_file()
    assert runner.invoke(app, ["deploy", "render", "--check"]).exit_code == 0
    edited = tmp_path / kubernetes.BASE_DIR / "catalog.yaml"
    edited.write_text(edited.read_text().replace("memory: 256Mi", "memory: 512Mi"))
    checked = runner.invoke(app, ["deploy", "render", "--check"])
    assert checked.exit_code == 1
    assert "deploy/k8s/base/catalog.yaml: STALE" in checked.output
    assert "deploy/k8s/base/orders.yaml: current" in checked.output


def test_kubectl_kustomize_renders_the_base(documents: list[dict[str, Any]]) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(ROOT / kubernetes.BASE_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    names = {(d["kind"], d["metadata"]["name"]) for d in built}
    assert names == {(d["kind"], d["metadata"]["name"]) for d in documents}
    for d in built:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == kubernetes.NAMESPACE, d["metadata"]["name"]


def test_every_document_is_valid_for_the_kubernetes_api(documents: list[dict[str, Any]]) -> None:
    for d in documents:
        valid_for_the_api(d)


def test_the_namespace_enforces_restricted(documents: list[dict[str, Any]]) -> None:
    assert len(checks.of(documents, "Namespace")) == 1
    checks.namespaces_enforce_restricted(documents, [])


def test_every_pod_meets_pod_security_restricted(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    owners = {checks.labels(pod)[checks.NAME] for _, _, pod in checks.pods(documents)}
    # All ours: the stricter checks apply to all.
    assert owners == {s.name for s in services} | checks.OUR_OTHER_PODS
    checks.pods_meet_pod_security_restricted(documents, services)


def test_every_process_has_probes_and_ready_is_not_alive(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    checks.long_running_containers_have_probes(documents, services)


def test_every_container_has_requests_and_limits_and_a_pinned_image(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    checks.containers_have_requests_limits_and_a_pinned_image(documents, services)
    for _, pod in _pods(documents):
        for container in checks.containers(pod):
            assert container["image"].endswith(f":{kubernetes_pods.TAG}"), container["image"]
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}


def test_services_select_their_web_pods_by_a_named_port(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    checks.services_select_pods_by_their_ports(documents, services)


def test_each_web_process_has_a_disruption_budget_and_an_autoscaler(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    checks.replicated_workloads_have_disruption_budgets(documents, services)
    budgets = {b["metadata"]["name"]: b for b in checks.of(documents, "PodDisruptionBudget")}
    scalers = {s["metadata"]["name"]: s for s in checks.of(documents, "HorizontalPodAutoscaler")}
    webs = [
        d
        for d in checks.of(documents, "Deployment")
        if d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == WEB
    ]
    assert {d["metadata"]["name"] for d in webs} == set(budgets) == set(scalers)
    for web in webs:
        name = web["metadata"]["name"]
        assert budgets[name]["spec"]["selector"] == web["spec"]["selector"]
        assert scalers[name]["spec"]["scaleTargetRef"]["name"] == name
        assert scalers[name]["spec"]["minReplicas"] >= 2  # the budget leaves one serving


def test_every_deployment_rolls_successor_first_and_a_web_pod_drains_before_it_goes(
    documents: list[dict[str, Any]],
) -> None:
    """The order of `mosaic upgrade`: no pod of any process type goes before its successor
    is ready; a web pod serves on while its endpoint is withdrawn, then drains, within its
    grace period (docs/operations.md, "Upgrades")."""
    drain = 10  # the chassis' SHUTDOWN_GRACE_SECONDS
    for deployment in checks.of(documents, "Deployment"):
        name, spec = deployment["metadata"]["name"], deployment["spec"]
        assert spec["strategy"] == {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}, name
        pod = spec["template"]["spec"]
        component = spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        process = next(c for c in pod["containers"] if c["name"] == component)
        if component == WEB:
            wait = process["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert wait >= 5, name
            assert pod["terminationGracePeriodSeconds"] > wait + drain, name


def test_no_variable_is_set_twice_and_secrets_come_only_by_reference(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    checks.environments_hold_no_secret_and_no_variable_twice(documents, services)


def test_scheduled_jobs_have_deadlines_and_never_overlap(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    assert checks.of(documents, "CronJob")
    checks.scheduled_jobs_have_deadlines_and_never_overlap(documents, services)


def test_every_container_runs_its_procfile_command(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    k8s_commands.commands_are_the_procfiles(documents, services)


def test_a_cron_schedule_is_the_period_rounded_up_to_minutes() -> None:
    assert cron_schedule(None, 30) == "*/1 * * * *"  # the runner's 30 s: once a minute
    assert cron_schedule(None, 60) == "*/1 * * * *"
    assert cron_schedule(None, 90) == "*/2 * * * *"


# No drift: what the runner runs, Kubernetes and compose run, by the same names.


def _pod_names(pod: dict[str, Any], container: dict[str, Any]) -> set[str]:
    """Its variables, and the files of its backing Secret (read through SECRETS_DIR)."""
    names = {e["name"] for e in container["env"]} - {"SECRETS_DIR"}
    for volume in pod["spec"]["volumes"]:
        if volume["name"] == "secrets":
            names |= {item["key"] for item in volume["secret"]["items"]}
    return names


def test_kubernetes_runs_every_process_and_job_of_the_runner_and_nothing_else(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    deployments = {
        (
            d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
            d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"],
        ): d
        for d in checks.of(documents, "Deployment")
    }
    assert set(deployments) == {(s.name, k) for s in services for k in s.processes}
    jobs = {d["metadata"]["name"] for d in checks.of(documents, "CronJob")}
    assert jobs == {f"{s.name}-{j.name}" for s in services for j in s.jobs}
    releases = {
        name
        for (name, _), d in deployments.items()
        if d["spec"]["template"]["spec"].get("initContainers")
    }
    assert releases == {s.name for s in services if s.release}
    assert {s["metadata"]["name"] for s in checks.of(documents, "Service")} == {
        s.name for s in services if WEB in s.processes
    }


def test_kubernetes_gives_each_process_the_runners_variable_names_and_ports(
    services: list[Service], documents: list[dict[str, Any]]
) -> None:
    by_name = {d["metadata"]["name"]: d for d in checks.of(documents, "Deployment")}
    endpoints = {s["metadata"]["name"]: s for s in checks.of(documents, "Service")}
    for service in services:
        for kind in service.processes:
            name = compose.container_name(service, kind)
            pod = by_name[name]["spec"]["template"]
            (container,) = pod["spec"]["containers"]
            assert _pod_names(pod, container) == runner_names(services, service, kind), name
            env = {e["name"]: e.get("value") for e in container["env"]}
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert env["OPS_PORT"] == str(ports["ops"]) == str(OPS_PORT), name
            if kind == WEB:
                assert env["PORT"] == str(ports["api"]) == str(api_port(service)), name
                assert endpoints[service.name]["spec"]["ports"][0]["port"] == api_port(service)
                assert api_port(service) == (EDGE_PORT if service.edge else API_PORT)
            else:
                assert "api" not in ports, name


def test_compose_gives_each_process_the_runners_variable_names(services: list[Service]) -> None:
    containers = compose.compose(services)["services"]
    known = {name for name, c in containers.items() if "MOSAIC_SERVICE" in c.get("environment", {})}
    expected = {compose.container_name(s, k) for s in services for k in s.processes}
    expected |= {f"{s.name}-release" for s in services if s.release}
    expected |= {f"{s.name}-{j.name}" for s in services for j in s.jobs}
    assert known == expected
    for service in services:
        for kind in service.processes:
            container = containers[compose.container_name(service, kind)]
            names = set(container["environment"]) - {"SECRETS_DIR"}
            if "SECRETS_DIR" in container["environment"]:
                names |= set(provisioned_variables(service))  # its provisioned folder's files
            assert names == runner_names(services, service, kind), (service.name, kind)
            assert container["environment"]["OPS_PORT"] == str(OPS_PORT)
            if kind == WEB:
                assert container["environment"]["PORT"] == str(api_port(service))
