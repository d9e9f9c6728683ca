"""`mosaic up --build SERVICE=REF`: which services start from a build, and what is refused
before anything starts (the start itself: tests/system/test_names_across_releases.py)."""

import os
import shutil
from pathlib import Path

import pytest
from mosaic.builds import (
    WORKTREE,
    build_env,
    service_folder,
    service_venv,
    started_builds,
    started_from_builds,
)
from mosaic.errors import MosaicError, UsageError
from mosaic.home import services_dir, venv_bin, workspace_root
from mosaic.services import Service, discover_services


def fake_build(
    home: Path, sha: str, service: str, pyproject_change: tuple[str, str] = ("", "")
) -> None:
    """A finished build of `service` (its service data only, no real virtualenv)."""
    folder = service_folder(home, sha, service)
    folder.mkdir(parents=True)
    shutil.copy(services_dir() / service / "Procfile", folder / "Procfile")
    pyproject = (services_dir() / service / "pyproject.toml").read_text()
    (folder / "pyproject.toml").write_text(pyproject.replace(*pyproject_change))
    service_venv(home, sha, service).mkdir(parents=True)
    (service_venv(home, sha, service) / ".built").touch()


def shop() -> list[Service]:
    return discover_services(services_dir())


def test_a_built_service_starts_from_its_build(tmp_path: Path) -> None:
    sha = "a" * 40
    fake_build(tmp_path, sha, "catalog")
    started = started_from_builds(shop(), tmp_path, {"catalog": sha}, in_process=False)
    assert list(started) == ["catalog"]
    assert started["catalog"].folder == service_folder(tmp_path, sha, "catalog")
    assert started_from_builds(shop(), tmp_path, {}, in_process=False) == {}


def test_a_build_that_changes_what_up_wires_is_refused(tmp_path: Path) -> None:
    sha = "b" * 40
    change = ('backing = ["postgres", "valkey"]', 'backing = ["postgres"]')
    fake_build(tmp_path, sha, "catalog", change)
    with pytest.raises(UsageError, match="cannot start in this working tree's shop") as refused:
        started_from_builds(shop(), tmp_path, {"catalog": sha}, in_process=False)
    assert "backing services change" in refused.value.message


@pytest.mark.parametrize(
    ("builds", "in_process", "refusal"),
    [
        ({"nope": "c" * 40}, False, "this shop has no service 'nope'"),
        ({"catalog": "c" * 40}, True, "cannot be combined with --in-process"),
        ({"catalog": "c" * 40}, False, "is not built for catalog"),
    ],
)
def test_what_cannot_start_from_a_build_is_refused(
    tmp_path: Path, builds: dict[str, str], in_process: bool, refusal: str
) -> None:
    with pytest.raises(MosaicError, match=refusal):
        started_from_builds(shop(), tmp_path, builds, in_process)


@pytest.mark.parametrize(
    ("specs", "refusal"),
    [
        (["catalog"], "expected SERVICE=REF"),
        (["=HEAD"], "expected SERVICE=REF"),
        (["catalog=HEAD", "catalog=HEAD~1"], "catalog is given twice"),
        (["catalog=no-such-revision"], "names no commit"),
    ],
)
def test_bad_build_options_are_refused_before_building(
    tmp_path: Path, specs: list[str], refusal: str
) -> None:
    with pytest.raises(MosaicError, match=refusal):
        started_builds(tmp_path, workspace_root(), specs, lambda _: None)
    assert not (tmp_path / "builds").exists()


def test_a_build_runs_with_its_own_virtualenv_first() -> None:
    env = {"PATH": os.pathsep.join([str(venv_bin()), "/usr/bin"]), "DATABASE_URL": "x"}
    home, sha = Path("/home"), "d" * 40
    built = build_env(env, home, sha, "catalog")
    assert built["PATH"].split(os.pathsep) == [str(service_venv(home, sha, "catalog") / "bin"),
                                               "/usr/bin"]  # fmt: skip
    assert built["VIRTUAL_ENV"] == str(service_venv(home, sha, "catalog"))
    assert built["DATABASE_URL"] == "x"
    assert build_env(env, home, WORKTREE, "catalog") == env
