"""deploy/compose/compose.yaml: rendered from the service data, committed as rendered, and
holding what the runner would give each process (same variable names), nothing secret."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from mosaic.compose import COMPOSE_FILE, compose, render, start_order
from mosaic.home import services_dir
from mosaic.plan import tracing_env
from mosaic.services import Service, discover_services

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def services() -> list[Service]:
    return discover_services(services_dir())


@pytest.fixture(scope="module")
def spec(services: list[Service]) -> dict[str, Any]:
    return compose(services)


def test_the_committed_file_is_what_the_service_data_renders(services: list[Service]) -> None:
    committed = (ROOT / COMPOSE_FILE).read_text()
    assert committed == render(services), "run `mosaic deploy render` and commit the file"
    assert yaml.safe_load(committed) == compose(services)  # and it reads back the same


def test_every_process_type_release_and_job_has_its_container(
    services: list[Service], spec: dict[str, Any]
) -> None:
    containers = spec["services"]
    for service in services:
        for kind, command in service.processes.items():
            name = service.name if kind == "web" else f"{service.name}-{kind}"
            assert containers[name]["command"][-1].endswith(command), name
            assert containers[name]["restart"] == "unless-stopped"
            assert containers[name]["read_only"] is True
        if service.release:
            release = containers[f"{service.name}-release"]
            assert release["restart"] == "no"
            assert release["command"][-1].endswith(service.release)
        for job in service.jobs:
            runner = containers[f"{service.name}-{job.name}"]["command"]
            when = ["--cron", job.cron] if job.cron else ["--every", f"{job.every:g}"]
            assert runner[:5] == ["python", "-m", "chassis.schedule", *when]


def test_processes_start_after_their_release_which_starts_after_provisioning(
    spec: dict[str, Any],
) -> None:
    levels = start_order(spec)
    level_of = {name: index for index, names in enumerate(levels) for name in names}
    assert level_of["postgres"] == level_of["valkey"] == 0
    assert level_of["provision"] > level_of["postgres"]
    assert level_of["catalog-release"] > level_of["provision"]
    assert level_of["catalog"] > level_of["catalog-release"]
    assert level_of["orders-recover"] > level_of["orders-release"]
    with pytest.raises(ValueError, match="cycle"):
        start_order({"services": {"a": {"depends_on": {"b": {}}}, "b": {"depends_on": {"a": {}}}}})


def test_each_service_mounts_its_own_keys_and_secrets_only(
    services: list[Service], spec: dict[str, Any]
) -> None:
    for name, container in spec["services"].items():
        owner = container.get("environment", {}).get("MOSAIC_SERVICE")
        if owner is None:
            continue  # the backing servers, the mailbox, provisioning
        for volume in container["volumes"]:
            source = volume.split(":/", 1)[0]
            if "/pki/services/" in source or "/provisioned/" in source:
                assert source.rsplit("/", 1)[1] == owner, (name, volume)


def test_no_secret_is_written_in_the_file(spec: dict[str, Any]) -> None:
    text = (ROOT / COMPOSE_FILE).read_text()
    assert not re.search(r"://[^/\s:@]+:[^@\s]+@", text)  # no URL with a password in it
    for name, container in spec["services"].items():
        for variable in container.get("environment", {}):
            # Secrets reach a process as files: a variable may only say where they are.
            if re.search("PASSWORD|SECRET|KEY|TOKEN", variable):
                assert variable.endswith(("_FILE", "_DIR")), (name, variable)


def test_the_environment_names_are_the_runners(
    services: list[Service], spec: dict[str, Any]
) -> None:
    """Every variable a container gets is one the runner sets for that process (or reads
    from SECRETS_DIR); the runner's backing URLs come as files there."""
    runner_names = {
        "MOSAIC_SERVICE", "MOSAIC_PROCESS", "HOST", "PORT", "OPS_PORT", "EDGE", "LOG_FORMAT",
        "SHOP_URL", "SMTP_URL", "TRANSPORT_SECURITY", "SERVICE_SIGNING_KEY_FILE",
        "SERVICE_TRUST_DIR", "TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE", "SECRETS_DIR",
    } | set(tracing_env("http://x", services[0]))  # fmt: skip
    for service in services:
        callees = {f"{c.upper()}_URL" for c in service.calls}
        web = spec["services"].get(service.name)
        if web is None:
            continue
        assert set(web["environment"]) - runner_names - callees == set(), service.name
        assert ("SMTP_URL" in web["environment"]) is ("smtp" in service.backing)
