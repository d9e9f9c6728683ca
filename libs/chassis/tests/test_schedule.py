"""`python -m chassis.schedule`, compose's scheduled job runner, as a real process running
real commands: the interval from start to start, one run at a time, the stop signal passed
on, and a clear usage error."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# A job that notes when it started and ended (time.monotonic is system-wide on Linux).
JOB = """
import signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
log.write(f"start {time.monotonic()}\\n")
def stopped(*_):
    log.write("got SIGTERM\\n")
    sys.exit(3)
signal.signal(signal.SIGTERM, stopped if sys.argv[3] == "obey" else signal.SIG_IGN)
log.write("ready\\n")
time.sleep(float(sys.argv[2]))
log.write(f"end {time.monotonic()}\\n")
"""


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.02)


class Scheduler:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.out, self.err = tmp / "stdout", tmp / "stderr"
        env = {**os.environ, "LOG_FORMAT": "json", "MOSAIC_SERVICE": "orders"}
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chassis.schedule", *args], stdout=out, stderr=err, env=env
            )

    def runs(self) -> list[dict[str, object]]:
        lines = self.out.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Callable[..., Scheduler]]:
    started: list[Scheduler] = []

    def start(*args: str) -> Scheduler:
        started.append(Scheduler(tmp_path, *args))
        return started[-1]

    yield start
    for one in started:
        if one.process.poll() is None:
            one.process.kill()
        one.process.wait(timeout=30)


def job(tmp_path: Path, seconds: float, on_sigterm: str = "obey") -> list[str]:
    return [sys.executable, "-c", JOB, str(tmp_path / "job.log"), str(seconds), on_sigterm]


def job_log(tmp_path: Path) -> list[str]:
    path = tmp_path / "job.log"
    return path.read_text().splitlines() if path.exists() else []


def times(lines: list[str], kind: str) -> list[float]:
    return [float(line.split()[1]) for line in lines if line.startswith(kind + " ")]


def test_runs_again_every_interval_from_start_to_start(
    scheduler: Callable[..., Scheduler], tmp_path: Path
) -> None:
    running = scheduler("--every", "1", "--", *job(tmp_path, 0.5))
    wait_until(lambda: len(running.runs()) >= 3, 30, "three runs")
    assert running.stop() == 0
    # Seen from inside the job, so each start is late by a Python start-up (tens of ms);
    # counted from the previous end, the gap would be 1.5 s.
    starts = times(job_log(tmp_path), "start")
    assert all(0.8 <= b - a < 1.4 for a, b in itertools.pairwise(starts)), starts
    first = running.runs()[0]
    assert first["event"] == "scheduled run ended"
    assert first["exit_code"] == 0
    assert 0.5 <= float(str(first["seconds"])) < 5
    assert first["service"] == "orders"
    assert "Traceback" not in running.err.read_text()


def test_a_run_longer_than_the_interval_delays_the_next(
    scheduler: Callable[..., Scheduler], tmp_path: Path
) -> None:
    running = scheduler("--every", "0.1", "--", *job(tmp_path, 0.4))
    wait_until(lambda: len(times(job_log(tmp_path), "start")) >= 3, 30, "three runs")
    assert running.stop() == 0
    lines = job_log(tmp_path)
    starts, ends = times(lines, "start"), times(lines, "end")
    assert all(start >= end for start, end in zip(starts[1:], ends, strict=False)), lines


def test_a_failed_run_is_logged_and_the_job_runs_again(
    scheduler: Callable[..., Scheduler], tmp_path: Path
) -> None:
    running = scheduler("--every", "0.1", "--", sys.executable, "-c", "raise SystemExit(4)")
    wait_until(lambda: len(running.runs()) >= 2, 30, "two runs")
    assert running.stop() == 0
    failed = running.runs()[0]
    assert (failed["event"], failed["exit_code"], failed["level"]) == (
        "scheduled run failed",
        4,
        "warning",
    )


def test_sigterm_reaches_the_running_command_then_it_exits_0(
    scheduler: Callable[..., Scheduler], tmp_path: Path
) -> None:
    running = scheduler("--every", "60", "--", *job(tmp_path, 60))
    wait_until(lambda: "ready" in job_log(tmp_path), 30, "the job to start")
    began = time.monotonic()
    assert running.stop() == 0
    assert time.monotonic() - began < 5  # not the job's 60 s, nor the interval
    assert "got SIGTERM" in job_log(tmp_path)
    assert running.runs()[-1]["exit_code"] == 3
    assert "Traceback" not in running.err.read_text()


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace(
    scheduler: Callable[..., Scheduler], tmp_path: Path
) -> None:
    running = scheduler("--every", "60", "--grace", "0.5", "--", *job(tmp_path, 60, "ignore"))
    wait_until(lambda: "ready" in job_log(tmp_path), 30, "the job to start")
    began = time.monotonic()
    assert running.stop() == 0
    assert time.monotonic() - began < 5
    assert running.runs()[-1]["exit_code"] == -signal.SIGKILL


def test_a_command_that_cannot_start_is_logged_and_stopping_still_works(
    scheduler: Callable[..., Scheduler], tmp_path: Path
) -> None:
    running = scheduler("--every", "0.1", "--", str(tmp_path / "no-such-command"))
    wait_until(lambda: len(running.runs()) >= 2, 30, "two attempts")
    assert running.stop() == 0
    assert running.runs()[0]["event"] == "scheduled run could not start"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--", "true"], "--every"),
        (["--every", "0", "--", "true"], "more than 0 seconds"),
        (["--every", "soon", "--", "true"], "not a number of seconds"),
        (["--every", "5"], "no COMMAND"),
        (["--every", "5", "--"], "no COMMAND"),
        (["--cron", "0 3 * *", "--", "true"], "not a five-field cron expression"),
        (["--cron", "* * * * *", "--every", "5", "--", "true"], "not allowed with"),
    ],
)
def test_bad_arguments_are_a_usage_error(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chassis.schedule", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "usage: python -m chassis.schedule" in done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_cron_job_waits_for_its_time(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    process = subprocess.Popen(
        # 1 January, 00:00: not within the second this test waits
        [
            sys.executable,
            "-m",
            "chassis.schedule",
            "--cron",
            "0 0 1 1 *",
            "--",
            "touch",
            str(marker),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # up to the scheduler's own word that it waits, not a guess
        seen.append(line)
        if "waiting for the first run" in line:
            break
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(seen) + output
    waiting = json.loads(seen[-1])  # the scheduler's JSON line: what it is about to wait
    assert waiting["event"] == "waiting for the first run", seen
    assert waiting["seconds"] > 60, waiting  # 1 January is never within a minute of a test run
    assert not marker.exists()
