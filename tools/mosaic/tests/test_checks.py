"""`mosaic test`'s steps: Chromium is made sure of before pytest, with or without static checks."""

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from mosaic import checks, prometheus_install
from mosaic.errors import MosaicError


def names(*, static: bool) -> list[str]:
    return [name for name, _ in checks._steps(["-x"], static=static)]


def test_chromium_comes_right_before_pytest_with_or_without_static_checks() -> None:
    assert names(static=True) == [
        "ruff lint",
        "ruff format",
        "mypy (strict)",
        "deptry (declared dependencies)",
        "secret scan (detect-secrets)",
        "contracts: no break for callers of the last release",
        "chromium for the browser tests",
        "prometheus for the rule and scrape tests",
        "pytest",
    ]
    assert names(static=False) == [
        "chromium for the browser tests",
        "prometheus for the rule and scrape tests",
        "pytest",
    ]
    pytest_command = checks._steps(["-x", "-k", "cart"], static=False)[-1][1]
    assert isinstance(pytest_command, list)
    assert pytest_command[-3:] == ["-x", "-k", "cart"]


def test_a_missing_browser_stops_the_run_before_pytest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_chromium() -> None:
        raise MosaicError("The browser tests need Chromium.", "Install it with apt-get.")

    pytest_ran = tmp_path / "pytest-ran"
    monkeypatch.setattr(
        checks,
        "_steps",
        lambda args, static, temp: [
            ("chromium", no_chromium),
            ("pytest", ["touch", str(pytest_ran)]),
        ],
    )
    assert checks.run_checks(tmp_path, [], static=False) == 1
    assert not pytest_ran.exists()
    err = capsys.readouterr().err
    assert "The browser tests need Chromium." in err
    assert "Install it with apt-get." in err


@pytest.mark.parametrize(
    ("arguments", "parallel"),
    [
        ([], True),
        (["-x", "-p", "no:cacheprovider", "-k", "cart"], True),
        (["-n", "0"], False),
        (["-n4"], False),
        (["--numprocesses=2"], False),
        (["-p", "no:xdist"], False),
    ],
)
def test_pytest_runs_on_a_worker_per_cpu_unless_told_otherwise(
    arguments: list[str], parallel: bool
) -> None:
    command = dict(checks._steps(arguments, static=False))["pytest"]
    assert isinstance(command, list)
    assert ("--dist=loadscope" in command) is parallel
    assert ("--no-loadscope-reorder" in command) is parallel  # our order: the longest first
    if arguments:
        assert command[len(command) - len(arguments) :] == arguments  # passed on, last


def test_the_container_stage_runs_last_and_alone_when_no_tests_are_named() -> None:
    steps = checks._steps([], static=False)
    assert [name for name, _ in steps] == [
        "chromium for the browser tests",
        "prometheus for the rule and scrape tests",
        "pytest",
        "pytest: the quiet stage",
        "container engine for the container stage",
        "pytest: the container stage",
    ]
    main_run, quiet_run, container_run = steps[2][1], steps[3][1], steps[5][1]
    assert isinstance(main_run, list) and isinstance(container_run, list)
    assert isinstance(quiet_run, list)
    assert f"--ignore={checks.CONTAINER_TESTS}" in main_run
    assert f"--ignore={checks.QUIET_TESTS}" in main_run
    assert "--numprocesses=0" in quiet_run and quiet_run[-1] == checks.QUIET_TESTS
    # One process: never beside the browser tests, never two compose projects at once.
    assert "--numprocesses=0" in container_run and container_run[-1] == checks.CONTAINER_TESTS
    assert checks.SLOWEST in main_run and checks.SLOWEST in container_run  # seen in CI's log


def test_each_pytest_run_gets_a_temporary_root_of_its_own(tmp_path: Path) -> None:
    """Not pytest's shared /tmp/pytest-of-USER, which another pytest session starting
    meanwhile makes private again, cutting the embedded Postgres off its data."""
    steps = dict(checks._steps([], static=False, temp=tmp_path))
    main_run, container_run = steps["pytest"], steps["pytest: the container stage"]
    assert isinstance(main_run, list) and isinstance(container_run, list)
    assert f"--basetemp={tmp_path / 'suite'}" in main_run
    assert f"--basetemp={tmp_path / 'stage'}" in container_run
    chosen = dict(checks._steps(["--basetemp=/x", "-k", "cart"], static=False, temp=tmp_path))
    command = chosen["pytest"]
    assert isinstance(command, list)
    assert [a for a in command if "basetemp" in a] == ["--basetemp=/x"]


@pytest.mark.parametrize("exit_code", [0, 3])
def test_the_temporary_root_is_removed_after_a_pass_and_kept_after_a_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, exit_code: int
) -> None:
    made: list[Path] = []

    def steps(args: list[str], static: bool, temp: Path) -> list[checks.Step]:
        made.append(temp)
        return [("pytest", ["sh", "-c", f"exit {exit_code}"])]

    monkeypatch.setattr(checks, "_steps", steps)
    assert checks.run_checks(tmp_path, [], static=False) == exit_code
    assert made[0].exists() is (exit_code != 0)
    shutil.rmtree(made[0], ignore_errors=True)


def test_prometheus_is_installed_only_where_it_can_be_else_the_scrape_test_is_told_why(
    tmp_path: Path,
) -> None:
    ran: list[tuple[str, ...]] = []

    def run(command: Sequence[str]) -> int:
        ran.append(tuple(command))
        return 0

    absent = tmp_path / "prometheus"
    said = prometheus_install.ensure_prometheus(absent, apt_get=True, root=True, run=run, say=print)
    assert ran == [] and "MOSAIC_PROMETHEUS" in said  # not Debian's path: never apt-get
    assert prometheus_install.missing(absent) is not None
    said = prometheus_install.ensure_prometheus(
        tmp_path / "nowhere", apt_get=True, root=False, run=run, say=print
    )
    assert ran == [] and "will skip" in said


def test_a_failed_run_keeps_its_logs_but_not_its_postgres_data(tmp_path: Path) -> None:
    """A failed run's folder held ~7.5 GB, nearly all of it the shops' Postgres data."""
    for shop in ("a", "b"):
        data = tmp_path / "suite" / shop / "home" / ".mosaic" / "postgres"
        (data / "global").mkdir(parents=True)
        (data / "base" / "5").mkdir(parents=True)
        (data / "PG_VERSION").write_text("18\n")
        (data / "base" / "5" / "PG_VERSION").write_text("18\n")
        (data / "pg_wal").mkdir()
        (data / "pg_wal" / "000000010000000000000001").write_bytes(b"w" * 4096)
        logs = tmp_path / "suite" / shop / "home" / ".mosaic" / "logs"
        logs.mkdir(parents=True)
        (logs / "catalog.log").write_text("a line\n")
    lone = tmp_path / "suite" / "c" / "PG_VERSION"  # no global/: not a data directory
    lone.parent.mkdir(parents=True)
    lone.write_text("18\n")

    freed = checks.drop_databases(tmp_path)

    assert freed == 2 * (4096 + 3 + 3)
    assert not list(tmp_path.rglob("pg_wal"))
    assert sorted(p.parents[3].name for p in tmp_path.rglob("catalog.log")) == ["a", "b"]
    assert lone.exists()
