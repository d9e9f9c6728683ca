"""The load generator against the real shop, as `mosaic bench` runs it (a subprocess):
closed and open loop, the mix and single flows, each a few seconds with a few users. Every
run completes with a result that has every field, and no action fails. No timing is
asserted: the figures are the bench's business."""

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mosaic.ports import free_port
from mosaic_testing import UpProcess

pytestmark = pytest.mark.system

RESULT_FIELDS = {
    "flow", "mode", "users", "rate", "duration", "started_at", "finished_at", "window",
    "flows", "total", "errors", "requests",
}  # fmt: skip
FIGURES = {"requests", "failures", "dropped", "rps", "p50_ms", "p95_ms", "p99_ms", "mean_ms",
           "max_ms"}  # fmt: skip
PROGRESS_FIELDS = {"t", "requests", "failures", "rps", "in_flight", "phase"}
MIX = {"home", "browse", "cart", "currency", "add", "checkout", "history", "sign_in"}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    home = tmp_path_factory.mktemp("loadgen") / "home"
    with UpProcess(home, free_port()) as up:
        up.wait_ready(timeout=180)
        yield up


@pytest.fixture(scope="module")
def shop(up: UpProcess) -> str:
    return up.wait_ready()


@pytest.fixture(scope="module")
def mailbox(up: UpProcess) -> str:
    """Where signed-in users read the link that confirms the account they sign up for."""
    return str(up.status()["mailbox"])


def loadgen(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadgen", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("flow", "mode", "args"),
    [
        ("mix", "closed", ["--users", "3", "--duration", "4", "--warmup", "1"]),
        ("mix", "open", ["--users", "4", "--rate", "8", "--duration", "4", "--warmup", "1"]),
        ("history", "closed", ["--users", "2", "--duration", "3"]),
        ("checkout", "open", ["--users", "3", "--rate", "3", "--duration", "4"]),
    ],
)
def test_a_short_run_measures_every_flow_without_a_failure(
    shop: str, mailbox: str, flow: str, mode: str, args: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    done = loadgen("run", "--host", shop, "--mailbox", mailbox, "--flow", flow, *args,
                   "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr

    progress = [json.loads(line) for line in done.stdout.splitlines()]
    assert progress, "one progress line a second"
    assert all(set(line) == PROGRESS_FIELDS for line in progress), progress
    assert {line["phase"] for line in progress} <= {"warmup", "measure"}
    assert progress[-1]["phase"] == "measure"

    result: dict[str, Any] = json.loads(out.read_text())
    assert set(result) >= RESULT_FIELDS
    assert (result["flow"], result["mode"]) == (flow, mode)
    assert result["window"]["start"] < result["window"]["end"]
    assert set(result["flows"]) == (MIX if flow == "mix" else {flow})
    for figures in [result["total"], *result["flows"].values(), *result["requests"].values()]:
        assert set(figures) == FIGURES
    assert result["errors"] == [] and result["setup_errors"] == [], result["errors"]
    assert result["total"]["failures"] == 0
    assert result["total"]["requests"] > 0
    assert result["flows"][flow if flow != "mix" else "browse"]["requests"] > 0
    measured = result["flows"][flow if flow != "mix" else "browse"]
    assert measured["p50_ms"] <= measured["p99_ms"] <= measured["max_ms"]
    if mode == "open":  # every arrival of the window is done or dropped, none lost
        arrivals = round(result["rate"] * result["duration"])
        assert result["total"]["requests"] + result["total"]["dropped"] == arrivals


def test_a_shop_that_is_not_there_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = loadgen("run", "--host", f"http://127.0.0.1:{free_port()}", "--flow", "home",
                   "--users", "1", "--duration", "1", "--out", str(out))  # fmt: skip
    assert done.returncode == 1
    assert "Is the shop running at that URL?" in done.stderr
    assert not out.exists()


def test_sigusr1_ends_the_window_early_with_a_result(
    shop: str, mailbox: str, tmp_path: Path
) -> None:
    """As a test runs load only for as long as an upgrade takes: a long duration asked for,
    the window ended by SIGUSR1 once the measuring began; the result is written as usual."""
    out = tmp_path / "result.json"
    run = subprocess.Popen(
        [sys.executable, "-m", "loadgen", "run", "--host", shop, "--mailbox", mailbox,
         "--flow", "checkout", "--users", "3", "--rate", "3", "--duration", "600",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if json.loads(line)["requests"] >= 2:  # counted checkouts done: the window is on
                break
        run.send_signal(signal.SIGUSR1)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
        run.communicate()
    assert run.returncode == 0, err

    result = json.loads(out.read_text())
    assert result["duration"] == 600
    assert 0 < result["window"]["end"] - result["window"]["start"] < 60
    assert result["errors"] == [] and result["total"]["failures"] == 0
    assert result["flows"]["checkout"]["requests"] >= 2
