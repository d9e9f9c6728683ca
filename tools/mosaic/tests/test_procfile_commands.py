"""The images carry no command per process: compose, Kubernetes and Cloud Run run each one
with its Procfile's command (or its [tool.mosaic] job's), through the same `shell_argv` as
the runner. Here, offline: compose.yaml and the Cloud Run files, exactly; every render of
deploy/k8s in test_k8s_overlays (k8s_commands.commands_are_the_procfiles). That each image can
start those commands is tests/containers/test_procfile_commands.py."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mosaic.compose import COMPOSE_FILE, JOB_RUNNER, container_name
from mosaic.images import REGISTRY, TOOLS
from mosaic.procfile import RELEASE
from mosaic.services import Service

from tools.mosaic.tests.k8s_commands import image_name, mosaic_command_exists, procfile_commands

ROOT = Path(__file__).resolve().parents[3]
CLOUD_RUN = ROOT / "deploy/cloudrun"


def test_compose_runs_exactly_the_procfiles_commands(services: list[Service]) -> None:
    """Every container of a service's image, in the committed file: its process type's,
    release's or job's command (a job under chassis.schedule), and no other container."""
    containers = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]
    expected: dict[str, list[str]] = {}
    for service in services:
        argv = procfile_commands(service)
        for kind in service.processes:
            expected[container_name(service, kind)] = argv[kind]
        if service.release is not None:
            expected[f"{service.name}-{RELEASE}"] = argv[RELEASE]
        for job in service.jobs:
            # Its schedule as declared: a cron expression, or every N seconds.
            when = ["--cron", job.cron] if job.cron else ["--every", f"{job.every:g}"]
            expected[f"{service.name}-{job.name}"] = [*JOB_RUNNER, *when, "--", *argv[job.name]]
    images = {f"{REGISTRY}/{s.name}" for s in services}
    ran = {
        name: container["command"]
        for name, container in containers.items()
        if container["image"].split(":")[0] in images  # the tag: ${MOSAIC_TAG:-dev}
    }
    assert ran == expected
    assert not any("entrypoint" in c for c in containers.values())  # the image's is kept


def test_compose_runs_mosaic_commands_that_exist_from_the_tools_image() -> None:
    """The servers, the mailbox and provisioning: `mosaic` commands with options it knows."""
    containers = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]
    tools = {n: c for n, c in containers.items() if image_name(c["image"]) == TOOLS}
    assert tools
    for name, container in tools.items():
        assert mosaic_command_exists(container["command"]), (name, container["command"])


def _containers(document: Any) -> Iterator[dict[str, Any]]:
    """Every container spec in a YAML document, wherever its kind nests them (a Cloud Run
    service's template, a job's template's template)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "containers" and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from _containers(value)
    elif isinstance(document, list):
        for item in document:
            yield from _containers(item)


def test_cloud_run_runs_exactly_the_procfiles_commands(services: list[Service]) -> None:
    """Every container of a service's image in deploy/cloudrun runs one of that service's
    commands, as command and args together."""
    files = sorted(CLOUD_RUN.rglob("*.yaml")) if CLOUD_RUN.is_dir() else []
    if not files:
        pytest.skip("no Cloud Run files in deploy/cloudrun yet")
    by_name = {s.name: procfile_commands(s) for s in services}
    seen = 0
    for path in files:
        for document in yaml.safe_load_all(path.read_text()):
            for container in _containers(document):
                # .../mosaic/<service>:<tag> or @sha256:...: the image's last path segment
                service = image_name(container.get("image", ""))
                argv = [*container.get("command", []), *container.get("args", [])]
                where = f"{path.relative_to(ROOT)}: {container.get('name', service)}"
                if service == TOOLS:  # provisioning
                    assert mosaic_command_exists(argv), f"{where}: no such command {argv}"
                if service not in by_name:
                    continue  # the tools image, a proxy
                assert argv in by_name[service].values(), f"{where} runs {argv}"
                seen += 1
    assert seen, "no container of a service's image in deploy/cloudrun"
