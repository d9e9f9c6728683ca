"""One-off tasks ([tool.mosaic.tasks]): read and checked with the services, and run with
their arguments passed on as they are."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mosaic.errors import MosaicError
from mosaic.kubernetes import BASE_DIR
from mosaic.procfile import argv_with_arguments
from mosaic.services import Service, discover_services

from tools.mosaic.tests.test_services import write_service

ROOT = Path(__file__).resolve().parents[3]


def test_tasks_are_read_from_the_table_in_file_order(tmp_path: Path) -> None:
    write_service(
        tmp_path,
        "shop",
        '\n[tool.mosaic.tasks]\nimport-products = " python -m shop.tasks import "\n'
        'export = "python -m shop.tasks export"\n',
        "web: a\n",
    )
    write_service(tmp_path, "front", "", "web: a\n")
    shop, front = sorted(discover_services(tmp_path), key=lambda s: s.name != "shop")
    assert shop.tasks == {
        "import-products": "python -m shop.tasks import",
        "export": "python -m shop.tasks export",
    }
    assert front.tasks == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("tasks = 3\n", "tool.mosaic.tasks must be a table of tasks"),
        ('[tool.mosaic.tasks]\n"Bad Name" = "x"\n', "'Bad Name' is not a valid task name"),
        ('[tool.mosaic.tasks]\nload = ""\n', 'tool.mosaic.tasks.load must be a command, "..."'),
        ("[tool.mosaic.tasks]\nload = { command = 'x' }\n", "tasks.load must be a command"),
        (
            '[tool.mosaic.tasks]\nload = "a && b"\n',
            "tasks.load: cannot pass arguments to the compound",
        ),
        (
            '[tool.mosaic.tasks]\nrecover = "x"\n\n[tool.mosaic.jobs]\n'
            'recover = { command = "x", every = 30 }\n',
            "'recover' is both a job and a task",
        ),
    ],
)
def test_a_bad_task_is_explained_in_one_line(tmp_path: Path, table: str, message: str) -> None:
    write_service(tmp_path, "svc", table, "web: a\n")
    with pytest.raises(MosaicError, match=message) as raised:
        discover_services(tmp_path)
    assert "\n" not in raised.value.args[0]


def test_arguments_reach_the_command_each_as_it_is(tmp_path: Path) -> None:
    tricky = ["my file.csv", "--skip-bad", "$HOME", "a;b", "'quoted'", ""]
    argv = argv_with_arguments("printf '[%s]\\n'", tricky)
    ran = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert ran.stdout.splitlines() == [f"[{argument}]" for argument in tricky]


def test_each_shop_task_runs_from_its_own_package_as_the_documented_pod_exec_needs(
    services: list[Service],
) -> None:
    """Offline, what running a task in a service's image or pod needs: its command is
    `python -m` a module of the service's own package (the only code its image carries),
    which answers --help, and the rendered Deployment has the `web` container that
    `kubectl exec -i deploy/SERVICE -c web -- COMMAND ...` (docs/operations.md) runs in,
    with its Secrets (SECRETS_DIR)."""
    with_tasks = [s for s in services if s.tasks]
    assert "catalog" in {s.name for s in with_tasks}
    for service in with_tasks:
        deployment = next(
            d
            for d in yaml.safe_load_all((ROOT / BASE_DIR / f"{service.name}.yaml").read_text())
            if d["kind"] == "Deployment"
        )
        containers = deployment["spec"]["template"]["spec"]["containers"]
        web = next(c for c in containers if c["name"] == "web")
        assert "SECRETS_DIR" in {e["name"] for e in web["env"]}
        for name, command in service.tasks.items():
            python, flag, module, *rest = command.split()
            assert (python, flag) == ("python", "-m"), (name, command)
            path = module.replace(".", "/")
            assert (service.folder / "src" / f"{path}.py").is_file(), (name, module)
            helped = subprocess.run(
                [sys.executable, "-m", module, *rest, "--help"],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            )
            assert helped.returncode == 0, helped.stderr
