"""`record_run` without a database to record in: the run's own exit code stands, its output
still reaches stdout, and a failure is an exit code, not a traceback. The output kept for
the record is bounded. (Recorded and counted against real Postgres: orders'
test_job_runs.py.)"""

from __future__ import annotations

import sys

import pytest
from chassis import job_runs, tracing


@pytest.fixture(autouse=True)
def tracing_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test process's tracer provider stays the one other tests set up."""
    monkeypatch.setattr(tracing, "_configured", True)


NOWHERE = "postgresql://nobody:secret@127.0.0.1:1/nothing"  # refused at once


def test_a_run_that_cannot_be_recorded_keeps_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def run() -> int:
        print("x" * 10_000)
        return 0

    assert job_runs.record_run("orders", "recover", NOWHERE, run) == 0
    assert "x" * 10_000 in capsys.readouterr().out


def test_a_run_that_raises_is_a_failed_run_with_exit_code_1() -> None:
    def run() -> int:
        raise RuntimeError("payments away")

    assert job_runs.record_run("orders", "recover", NOWHERE, run) == 1


def test_the_output_kept_is_the_last_few_kilobytes(capsys: pytest.CaptureFixture[str]) -> None:
    tail = job_runs._Tail(sys.stdout, 10)
    for part in ("first line\n", "second\n", "third\n"):
        tail.write(part)
    assert tail.kept == "ond\nthird\n"
    assert capsys.readouterr().out == "first line\nsecond\nthird\n"
