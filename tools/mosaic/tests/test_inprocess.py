"""`mosaic up --in-process`: what the runner decides before the host process starts. The
host itself runs the real shop in the system tests that run in both modes."""

import json
import os
import stat
from pathlib import Path

import pytest
from mosaic.errors import MosaicError
from mosaic.inprocess import HostedUnit, write_spec
from mosaic.plan import ProcessPlan
from mosaic.ports import free_port
from mosaic.services import load_service
from mosaic_testing import mosaic

DEMO = Path(__file__).parent / "demo_services"


def service(tmp_path: Path, app: str | None, procfile: str = "web: python -m shop\n") -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "Procfile").write_text(procfile)
    table = f"app = {app}\n" if app is not None else ""
    (folder / "pyproject.toml").write_text(f'[project]\nname = "shop"\n\n[tool.mosaic]\n{table}')
    return folder


def test_scale_with_in_process_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "MOSAIC_HOME": str(tmp_path), "MOSAIC_SERVICES_DIR": str(DEMO)}
    result = mosaic("up", "--in-process", "--scale", "back=2", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "--scale cannot be combined with --in-process" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_option_says_what_it_is_for() -> None:
    result = mosaic("up", "--help", env={**os.environ, "COLUMNS": "200"})
    assert "--in-process" in result.stdout
    assert "not for production" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("app", "procfile", "expected"),
    [
        ('"shop.app:create"', "web: python -m shop\n", {"web": "shop.app:create"}),
        (
            '{ web = "shop.app:create", relay = "shop.relay:worker" }',
            "web: python -m shop\nrelay: python -m shop.relay\n",
            {"web": "shop.app:create", "relay": "shop.relay:worker"},
        ),
        (None, "web: python -m shop\n", {}),
    ],
)
def test_factories_come_from_tool_mosaic_app(
    tmp_path: Path, app: str | None, procfile: str, expected: dict[str, str]
) -> None:
    assert load_service(service(tmp_path, app, procfile)).apps == expected


@pytest.mark.parametrize("app", ['"no-function"', '{ worker = "shop.app:create" }', "3"])
def test_a_bad_app_entry_says_how_it_should_read(tmp_path: Path, app: str) -> None:
    with pytest.raises(MosaicError, match="module:function"):
        load_service(service(tmp_path, app))


def test_the_hosts_spec_is_readable_by_its_user_only(tmp_path: Path) -> None:
    shop = load_service(service(tmp_path, '"shop.app:create"'))
    plan = ProcessPlan(shop, "web", 1, 8080, 8081)
    path = write_spec(tmp_path / "home", [HostedUnit(plan, "shop.app:create", {"A": "b"})])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [unit] = json.loads(path.read_text())["units"]
    assert unit == {"service": "shop", "process": "web", "factory": "shop.app:create",
                    "env": {"A": "b"}}  # fmt: skip
