"""`mosaic test`: the whole test suite, as CI and a newcomer run it.

Static checks first (ruff, mypy, deptry, the contracts against their last release: seconds,
and they explain themselves), then the browser the browser tests need (installed on a fresh
machine), then pytest over every package but two folders, in parallel; then the quiet stage
(tests/quiet: tests that measure a capacity, one at a time with nothing beside them); then
the container stage (a container engine installed where it can be: podman, as root with
apt-get). Each check is a separate process from the workspace's own environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from mosaic.chromium import ensure_chromium_here
from mosaic.compat.cli import verify
from mosaic.declared import check_declared
from mosaic.engine import ensure_engine_here
from mosaic.errors import MosaicError
from mosaic.home import workspace_root
from mosaic.prometheus_install import ensure_prometheus_here

console = Console(stderr=True)

# The whole run prints its slowest tests: where CI's 45 minutes go, seen in every run's log.
SLOWEST = "--durations=30"
CONTAINER_TESTS = "tests/containers"  # images and compose: a stage of its own, last
# Tests that measure a capacity and then load to a multiple of it: one at a time, with
# nothing beside them (a capacity measured beside another shop's tests is not the next
# second's). A stage of their own, before the container stage.
QUIET_TESTS = "tests/quiet"
SCAN_MODULE = "mosaic_testing.secret_scan"  # reviewed false positives: secrets-baseline.json

# A step is a command to run in the workspace, or a function that raises MosaicError.
Step = tuple[str, list[str] | Callable[[], None]]


def _chromium() -> None:
    path = ensure_chromium_here(say=lambda line: console.print(f"  {line}", markup=False))
    console.print(f"  using {path}", markup=False)


def _prometheus() -> None:
    """Never fails: without it the Prometheus scrape test skips, saying why."""
    found = ensure_prometheus_here(say=lambda line: console.print(f"  {line}", markup=False))
    console.print(f"  {found}", markup=False)


def _declared() -> None:
    check_declared(workspace_root())
    console.print("  every package declares what it imports, and nothing else", markup=False)


def _contracts() -> None:
    console.print(f"  {verify()}", markup=False)


def _container_engine() -> None:
    """Never fails: without an engine the container stage's tests skip, saying why."""
    found = ensure_engine_here(say=lambda line: console.print(f"  {line}", markup=False))
    console.print(f"  {found}", markup=False)


def _steps(pytest_args: Sequence[str], *, static: bool, temp: Path | None = None) -> list[Step]:
    bin_dir = Path(sys.executable).parent
    pytest = str(bin_dir / "pytest")
    suite, stage = _basetemp(pytest_args, temp, "suite"), _basetemp(pytest_args, temp, "stage")
    quiet = _basetemp(pytest_args, temp, "quiet")
    static_steps: list[Step] = [
        ("ruff lint", [str(bin_dir / "ruff"), "check", "--no-cache", "."]),
        ("ruff format", [str(bin_dir / "ruff"), "format", "--check", "--no-cache", "."]),
        ("mypy (strict)", [str(bin_dir / "mypy")]),
        ("deptry (declared dependencies)", _declared),
        # mosaic_testing, not mosaic: the command line (and its images) carry no scanner.
        ("secret scan (detect-secrets)", [str(bin_dir / "python"), "-m", SCAN_MODULE]),
        ("contracts: no break for callers of the last release", _contracts),
    ]
    tests: list[Step] = [
        ("chromium for the browser tests", _chromium),
        ("prometheus for the rule and scrape tests", _prometheus),
    ]
    if pytest_args:  # the tests asked for, as asked (containers never beside browsers: conftest)
        tests.append(("pytest", [pytest, *_parallel(pytest_args), *suite, *pytest_args]))
    else:
        # The container stage after everything else: creating container networks while
        # Chromium runs makes it fail pages (ERR_NETWORK_CHANGED).
        tests += [
            (
                "pytest",
                [
                    pytest,
                    *_parallel(()),
                    *suite,
                    SLOWEST,
                    f"--ignore={CONTAINER_TESTS}",
                    f"--ignore={QUIET_TESTS}",
                ],
            ),
            ("pytest: the quiet stage", [pytest, "--numprocesses=0", *quiet, QUIET_TESTS]),
            ("container engine for the container stage", _container_engine),
            (
                "pytest: the container stage",
                [pytest, "--numprocesses=0", *stage, SLOWEST, CONTAINER_TESTS],
            ),
        ]
    return [*static_steps, *tests] if static else tests


def _basetemp(pytest_args: Sequence[str], temp: Path | None, name: str) -> list[str]:
    """A temporary root of this run's own, unless the arguments choose one. Under pytest's
    shared default (/tmp/pytest-of-USER), any other pytest session that starts meanwhile
    makes that folder private again, and the embedded Postgres, which runs as an OS user of
    its own, loses its way to its data directory mid-run (seen beside another pytest run)."""
    chosen = any(a.startswith("--basetemp") for a in pytest_args)
    return [] if chosen or temp is None else [f"--basetemp={temp / name}"]


def _parallel(pytest_args: Sequence[str]) -> list[str]:
    """pytest-xdist, one worker per CPU, one file per worker at a time, handed out in the
    order the root conftest.py sorts them (longest first; xdist would otherwise reorder by
    the number of tests in a file); unless the arguments choose otherwise."""
    chosen = any(a.startswith(("-n", "--numprocesses")) or a == "no:xdist" for a in pytest_args)
    if chosen:
        return []
    return ["--numprocesses=logical", "--dist=loadscope", "--no-loadscope-reorder"]


def _run(step: list[str] | Callable[[], None], root: Path) -> int:
    if isinstance(step, list):
        return subprocess.run(step, cwd=root, check=False).returncode
    try:
        step()
    except MosaicError as error:
        console.print(error.message, style="red", markup=False, soft_wrap=True)
        if error.output:
            console.print(error.output, markup=False, soft_wrap=True)
        if error.hint:
            console.print(f"  {error.hint}", markup=False, soft_wrap=True)
        return 1
    return 0


def run_checks(root: Path, pytest_args: Sequence[str], *, static: bool = True) -> int:
    """Run every step, stop at the first failure, return its exit code (0 when all pass).
    The tests' temporary folder is removed after a pass and kept after a failure, without
    its Postgres data directories."""
    temp = Path(tempfile.mkdtemp(prefix="mosaic-test-"))
    code = _run_steps(root, _steps(pytest_args, static=static, temp=temp))
    if code == 0:
        shutil.rmtree(temp, ignore_errors=True)
    else:
        freed = drop_databases(temp)
        console.print(f"  the tests' temporary files are kept in {temp}", markup=False)
        if freed:
            console.print(
                f"  (their logs and homes; the shops' Postgres data, {freed / 2**30:.1f} GiB, "
                "removed: rerun the failing test to look into its database)",
                markup=False,
            )
    return code


def drop_databases(folder: Path) -> int:
    """Remove every Postgres data directory (one with a PG_VERSION) under `folder`; the
    bytes freed. Each shop a run starts keeps ~150 MB of them, ~7 GB for a whole run, and
    a failed run on a shared machine (CI's) would otherwise fill its disk in a few runs."""
    freed = 0
    try:
        found = sorted(folder.rglob("PG_VERSION"))  # a data directory's before its databases'
        for version in found:
            data = version.parent
            if not (data / "global").is_dir():
                continue  # a database's own (base/OID/PG_VERSION), or already removed
            freed += sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
            shutil.rmtree(data, ignore_errors=True)
    except OSError as error:  # unreadable: keep what is left, say so, never fail the report
        console.print(f"  could not remove every database under {folder}: {error}", markup=False)
    return freed


def _run_steps(root: Path, steps: list[Step]) -> int:
    for index, (name, step) in enumerate(steps, start=1):
        console.rule(f"[bold]{index}/{len(steps)} {name}")
        started = time.monotonic()
        code = _run(step, root)
        took = time.monotonic() - started
        if code != 0:
            console.print(f"[red]✗ {name} failed (exit {code}) after {took:.0f} s[/red]")
            if name.startswith("ruff format"):
                console.print("  fix with: .venv/bin/ruff format .")
            return code
        console.print(f"[green]✓ {name}[/green] ({took:.0f} s)")
    return 0
