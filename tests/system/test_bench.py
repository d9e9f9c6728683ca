"""`mosaic bench` on the real shop, tiny: both modes measured and compared, every figure in
results.json, a valid plot, and nothing left running afterwards, also after a Ctrl-C."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import pytest
from mosaic.bench.results import missing_fields
from mosaic_testing import wait_until
from mosaic_testing.processes import gone

pytestmark = pytest.mark.system

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOME_LINE = re.compile(r"home (/\S+mosaic-bench-\S+?);")


def bench(out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mosaic", "bench", "--quick", "--out", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # As from a terminal: Ctrl-C interrupts. A test run started as a shell's background
        # job ignores SIGINT, and a child inherits that, so Python would not turn it into
        # KeyboardInterrupt (the root conftest restores it in the run itself; this is for
        # a run under a runner that keeps it ignored).
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.timeout(600)
def test_a_quick_compare_measures_both_modes_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    with bench(out, "--compare") as run:
        try:
            output, _ = run.communicate(timeout=540)
        finally:
            run.kill()
    assert run.returncode == 0, output

    results = json.loads((out / "results.json").read_text())
    assert missing_fields(results) == []
    assert set(results["modes"]) == {"microservices", "in_process"}
    for mode in results["modes"].values():
        assert mode["started_by_bench"] and mode["cpu_measured"]
        assert mode["closed"]["browse"]["requests"] > 0
        assert mode["closed"]["browse"]["cpu"]["with_backing"] > 0
        assert mode["rss"]["idle"]["per_service"]["postgres"] > 0
    assert {p["service"] for p in results["modes"]["in_process"]["processes"]} >= {"postgres"}
    assert results["ratios"]["flows"]["checkout"]["targets"]["cpu"] == 2.0

    plot = out / "latency-vs-load.png"
    assert plot.read_bytes().startswith(PNG_MAGIC)
    assert matplotlib.image.imread(plot).shape[0] > 100
    assert "Microservices ÷ in-process" in output

    # Everything bench started has stopped, and its temporary homes are gone.
    pids = [p["pid"] for m in results["modes"].values() for p in m["processes"] if p["pid"]]
    assert pids and all(gone(pid) for pid in pids)
    homes = HOME_LINE.findall((out / "microservices-up.log").read_text())
    assert homes and not Path(homes[0]).exists()


@pytest.mark.timeout(300)
def test_ctrl_c_stops_the_load_and_the_shop_it_started(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    with bench(out) as run:
        try:
            # Once the first closed-loop run is done: well inside the measuring, away from
            # the start-up and the final stop (which holds Ctrl-C off until the shop is down).
            wait_until(
                lambda: (
                    (out / "runs" / "microservices" / "closed-home.json").exists()
                    or run.poll() is not None
                ),
                timeout=180,
                what="bench measured its first flow",
            )
            assert run.poll() is None, run.communicate()[0]
            home = Path(HOME_LINE.findall((out / "microservices-up.log").read_text())[0])
            runner = int((home / "run" / "up.lock").read_text())
            state = json.loads((home / "run" / "state.json").read_text())
            pids = [runner, *(p["pid"] for p in state["processes"] if p["pid"])]
            done_before = sorted(path.name for path in (out / "runs" / "microservices").iterdir())
            os.killpg(run.pid, signal.SIGINT)  # as Ctrl-C in its terminal
            output, _ = run.communicate(timeout=120)
        finally:
            run.kill()
    assert run.returncode == 130, f"runs done at Ctrl-C: {done_before}\n{output}"
    assert "Interrupted" in output
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(gone(pid) for pid in pids)
    assert not home.exists()
    assert json.loads((out / "results.json").read_text())["incomplete"] == "interrupted"
