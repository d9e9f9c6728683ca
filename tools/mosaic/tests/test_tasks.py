"""One-off tasks ([tool.mosaic.tasks]): read and checked with the services, and run with
their arguments passed on as they are."""

import subprocess
from pathlib import Path

import pytest
from mosaic.errors import MosaicError
from mosaic.procfile import argv_with_arguments
from mosaic.services import discover_services

from tools.mosaic.tests.test_services import write_service


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
        ('[tool.mosaic.tasks]\nload = "a && b"\n', "arguments to the compound command 'a && b'"),
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
