"""The commands of every render of deploy/k8s (k8s_checks.py has the rest): the images
carry none per process, so our containers run exactly the Procfile's, and the tools image's
run `mosaic` commands that exist. Shared with test_procfile_commands (compose, Cloud Run)."""

from __future__ import annotations

import shlex

from mosaic.images import TOOLS
from mosaic.procfile import RELEASE, shell_argv
from mosaic.services import Service

from tools.mosaic.tests.k8s_checks import (
    Check,
    Document,
    containers,
    our_containers,
    pods,
    service_of,
)


def procfile_commands(service: Service) -> dict[str, list[str]]:
    """Each process type's, the release's and each job's argv, by the container's name."""
    found = {kind: shell_argv(command) for kind, command in service.processes.items()}
    found |= {job.name: shell_argv(job.command) for job in service.jobs}
    if service.release is not None:
        found[RELEASE] = shell_argv(service.release)
    return found


def commands_are_the_procfiles(documents: list[Document], services: list[Service]) -> None:
    """Our containers run exactly what the Procfile (or [tool.mosaic] jobs) says, through
    the same `shell_argv` as compose and the runner; the images carry no command."""
    for owner, _, pod in pods(documents):
        service = service_of(pod, services)
        if service is None:
            continue
        expected = procfile_commands(service)
        ran = our_containers(pod, service)
        assert ran, f"{owner}: runs none of {service.name}'s commands"
        for container in containers(pod):
            if container["name"] in ran:
                where = f"{owner}, container {container['name']}"
                assert container.get("command") == expected[container["name"]], where
                assert "args" not in container, f"{where}: args added to the Procfile's"


def tools_commands_exist(documents: list[Document], services: list[Service]) -> None:
    """Each container of the tools image (provisioning, the backing servers) runs a `mosaic`
    command that exists, with options it knows."""
    for owner, _, pod in pods(documents):
        for container in containers(pod):
            if image_name(container.get("image", "")) == TOOLS:
                argv = [*container.get("command", []), *container.get("args", [])]
                where = f"{owner}, container {container['name']}"
                assert mosaic_command_exists(argv), f"{where}: no such command {argv}"


def image_name(image: str) -> str:
    """`tools` of localhost/mosaic/tools:dev, REGION-docker.pkg.dev/P/mosaic/tools@sha256:..."""
    return image.split("@")[0].rsplit("/", 1)[-1].partition(":")[0]


def mosaic_command_exists(argv: list[str]) -> bool:
    """Whether `argv` (bare, or through `/bin/sh -c "exec ..."`) is a `mosaic` command whose
    options its command line knows: parsed with `--help` added, so nothing runs."""
    if argv[:2] == ["/bin/sh", "-c"] and len(argv) == 3:
        argv = shlex.split(argv[2])
        argv = argv[1:] if argv[:1] == ["exec"] else argv
    if argv[:1] != ["mosaic"]:
        return False
    from mosaic.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*argv[1:], "--help"])
    return result.exit_code == 0 and "Commands" not in result.output  # a group is no command


CHECKS: list[Check] = [commands_are_the_procfiles, tools_commands_exist]
