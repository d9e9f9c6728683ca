"""Which container engine: the first that answers, and a clear line when none does (a docker
CLI without a Docker engine is common). The engines here are stand-in scripts."""

from pathlib import Path

import pytest
from mosaic import engine
from mosaic.engine import find_engine, project_containers_conf
from mosaic.errors import MosaicError, UsageError

ROOT = Path(__file__).resolve().parents[3]


def stand_in(folder: Path, name: str, info_exit: int, says: str = "") -> None:
    script = folder / name
    script.write_text(f'#!/bin/sh\n[ "$1" = info ] && {{ echo "{says}" >&2; exit {info_exit}; }}\n')
    script.chmod(0o755)


@pytest.fixture
def path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    monkeypatch.setattr(engine, "PODMAN_HELPERS", tmp_path / "no-helpers-here")
    return tmp_path


def test_none_installed_says_what_to_install(path: Path) -> None:
    with pytest.raises(MosaicError) as raised:
        find_engine(None, ROOT)
    assert raised.value.message == (
        "no container engine works here: podman is not installed; docker is not installed"
    )
    assert "apt-get install -y podman runc" in raised.value.hint


def test_a_docker_cli_without_an_engine_does_not_count(path: Path) -> None:
    stand_in(
        path, "docker", 1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
    )
    with pytest.raises(MosaicError) as raised:
        find_engine(None, ROOT)
    assert "docker is installed but does not work here (Cannot connect to the Docker daemon" in (
        raised.value.message
    )


def test_podman_comes_first_and_gets_the_projects_containers_conf_with_runc(path: Path) -> None:
    stand_in(path, "docker", 0)
    stand_in(path, "podman", 0)
    assert find_engine(None, ROOT).name == "podman"
    assert find_engine("docker", ROOT).name == "docker"
    assert find_engine(None, ROOT).env == {}  # no runc here: podman's own configuration
    stand_in(path, "runc", 0)
    for helper in ("netavark", "aardvark-dns"):
        stand_in(path, helper, 0)
    conf = find_engine(None, ROOT).env["CONTAINERS_CONF"]
    assert conf == str(project_containers_conf(ROOT)) and Path(conf).is_file()


def test_an_engine_not_named_is_a_usage_error(path: Path) -> None:
    with pytest.raises(UsageError):
        find_engine("rkt", ROOT)


def test_podman_without_name_resolution_does_not_count(path: Path) -> None:
    """Without netavark and aardvark-dns a compose network has no DNS: no container would
    find `postgres`. Said at once, so `mosaic test` installs them, not after a build."""
    stand_in(path, "podman", 0)
    stand_in(path, "runc", 0)
    stand_in(path, "netavark", 0)
    with pytest.raises(MosaicError) as raised:
        find_engine("podman", ROOT)
    assert "aardvark-dns not installed: containers could not find each other" in (
        raised.value.message
    )
