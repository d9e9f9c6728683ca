"""The Jobs printed for one-off work on Kubernetes, checked offline as the rendered
manifests are: a service's task (`mosaic deploy k8s task`, its file in a ConfigMap) and a
restore from the backup claim (`mosaic deploy k8s restore`). Valid for the Kubernetes API
(kubernetes-validate), Pod Security "restricted", with a deadline, selected by the network
policies that admit the service's own pods, and running a command that exists with every
file it names mounted. And the backup component's CronJob runs the daily backup job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from mosaic import kubernetes_backup
from mosaic.backup_job import CRON
from mosaic.cli import app
from mosaic.services import Service
from typer.testing import CliRunner

from tools.mosaic.tests import k8s_checks as checks
from tools.mosaic.tests import test_k8s_overlays as overlays
from tools.mosaic.tests.k8s_render import ROOT, committed, valid_for_the_api
from tools.mosaic.tests.test_documented_commands import check_runnable

BASE = ROOT / "deploy/k8s/base"
POLICIES = ROOT / "deploy/k8s/components/network-policies"


def printed(*argv: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["deploy", "k8s", *argv])
    assert result.exit_code == 0, result.output
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def checked(documents: list[dict[str, Any]], services: list[Service]) -> None:
    for document in documents:
        valid_for_the_api(document)
    everything = committed(BASE) + committed(kubernetes_backup.COMPONENT_DIR) + documents
    checks.pods_meet_pod_security_restricted(everything, services)
    checks.containers_have_requests_limits_and_a_pinned_image(documents, services)
    checks.environments_hold_no_secret_and_no_variable_twice(documents, services)
    checks.scheduled_jobs_have_deadlines_and_never_overlap(documents, services)


def mounted(container: dict[str, Any], path: str) -> bool:
    return any(path.startswith(m["mountPath"] + "/") for m in container["volumeMounts"])


@pytest.fixture
def products(tmp_path: Path) -> Path:
    file = tmp_path / "products.csv"
    file.write_text("id,name,description,category,price_amount,price_currency,tags,picture\n")
    return file


def test_a_task_job_runs_the_task_with_its_file_as_the_service(
    services: list[Service], products: Path
) -> None:
    documents = printed(
        "task", "--file", str(products), "catalog", "import-products", str(products), "--skip-bad"
    )
    checked(documents, services)
    config, job = documents
    assert (config["kind"], job["kind"]) == ("ConfigMap", "Job")
    assert config["data"] == {"products.csv": products.read_text()}
    pod = job["spec"]["template"]
    [container] = pod["spec"]["containers"]
    command = container["command"]
    assert command[:3] == ["/bin/sh", "-c", 'exec python -m catalog.tasks import-products "$@"']
    assert command[4:] == ["/run/mosaic/task/products.csv", "--skip-bad"]
    assert mounted(container, command[4])
    assert {"name": "files", "configMap": {"name": config["metadata"]["name"]}} in pod["spec"][
        "volumes"
    ]
    # Its Secrets and identity: every volume of catalog's own CronJob-less web pod.
    [web] = [
        d
        for d in committed(BASE)
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "catalog"
    ]
    own = {v["name"] for v in web["spec"]["template"]["spec"]["volumes"]}
    assert own <= {v["name"] for v in pod["spec"]["volumes"]}
    assert pod["spec"]["serviceAccountName"] == "catalog"
    policies = [p for p in committed(POLICIES) if p["kind"] == "NetworkPolicy"]
    egress = [p for p in policies if p["metadata"]["name"] == "catalog-egress"]
    assert egress and checks.selects(egress[0]["spec"]["podSelector"], pod["metadata"]["labels"])


def test_a_task_without_a_file_prints_only_the_job(services: list[Service]) -> None:
    documents = printed("task", "--name", "export-1", "catalog", "export-products")
    checked(documents, services)
    [job] = documents
    assert job["metadata"]["name"] == "export-1"


def test_an_unknown_task_is_refused_with_the_tasks_there_are() -> None:
    result = CliRunner().invoke(app, ["deploy", "k8s", "task", "catalog", "nope"])
    assert result.exit_code != 0
    assert "import-products" in str(result.exception), result.output


def test_the_restore_job_restores_the_claims_folder_read_only(services: list[Service]) -> None:
    documents = printed("restore", "2026-12-07T02-00-00Z")
    checked(documents, services)
    [job] = documents
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    command = container["command"]
    check_runnable(command[1:])
    source = command[command.index("--from") + 1]
    assert source == f"{kubernetes_backup.HOME}/backups/2026-12-07T02-00-00Z"
    assert "--force" in command and mounted(container, source)
    [claim] = [m for m in container["volumeMounts"] if m["name"] == "backups"]
    assert claim["readOnly"] is True
    items = {i["path"] for v in pod["volumes"] if "secret" in v for i in v["secret"]["items"]}
    for named in (a for a in command if a.startswith("/run/")):
        assert mounted(container, named) and named.rsplit("/", 1)[1] in items, named


def test_the_backup_component_runs_the_daily_backup_job(services: list[Service]) -> None:
    text = kubernetes_backup.render(services)[kubernetes_backup.COMPONENT_DIR / "backup.yaml"]
    [cron] = [d for d in yaml.safe_load_all(text) if d["kind"] == "CronJob"]
    assert cron["spec"]["schedule"] == CRON
    [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"][:3] == ["mosaic", "admin", "backup-job"]
    check_runnable(container["command"][1:])
    assert mounted(container, f"{kubernetes_backup.HOME}/backups/x")


def test_checkov_passes_the_printed_jobs(products: Path, tmp_path: Path) -> None:
    """checkov's kubernetes checks, offline, as for every render (test_k8s_overlays.py)."""
    documents = [
        *printed("task", "--file", str(products), "catalog", "import-products", str(products)),
        *printed("restore", "2026-12-07T02-00-00Z"),
    ]
    path = tmp_path / "jobs.yaml"
    path.write_text("---\n".join(yaml.safe_dump(d, sort_keys=False) for d in documents))
    skips = ",".join(overlays._checkov_skips() + overlays.WITHOUT_POLICIES)
    checkov = str(Path(sys.executable).parent / "checkov")
    argv = [checkov, "--config-file", str(overlays.CHECKOV_CONFIG)]
    result = subprocess.run(
        [*argv, "--skip-check", skips, "-f", str(path), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 0, report
    failed = [f"{c['check_id']}: {c['resource']}" for c in report["results"]["failed_checks"]]
    assert not failed, failed
