"""The floor page (bench/floor.py) and the pages phase of `mosaic bench`: wrk's output read,
issue 16's target lines, and the floor itself serving its page from real processes."""

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
from mosaic.bench.pages import pages_summary
from mosaic.bench.targets import issue16_targets, target_lines
from mosaic.bench.wrk import WrkRun, ensure_wrk, parse_wrk
from mosaic.errors import MosaicError
from mosaic.home import workspace_root
from mosaic.pki.files import Pki
from mosaic.ports import free_port
from mosaic.state import read_state

BACKING = ("postgres", "valkey")
# wrk 4.1.0 against the floor page, with the bench's done() script (percentiles in µs).
WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:18931/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   515.98ms  188.09ms 917.04ms   59.12%
    Req/Sec    33.22     23.28    80.00     67.57%
  Latency Distribution
     50%  494.87ms
     75%  696.39ms
     90%  764.86ms
     99%  854.01ms
  159 requests in 3.08s, 44.10KB read
Requests/sec:     51.68
Transfer/sec:     14.33KB
mosaic-percentile 50 494873
mosaic-percentile 90 764859
mosaic-percentile 95 811939
mosaic-percentile 99 854014
"""
WRK_NOTHING = """\
  0 requests in 2.06s, 0.00B read
Requests/sec:      0.00
mosaic-percentile 95 0
"""
WRK_FAILING = """\
  3693 requests in 1.10s, 1.09MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 3693
Requests/sec:   3370.63
mosaic-percentile 95 10598
"""


def test_wrk_output_gives_rate_requests_and_percentiles_in_ms() -> None:
    figures = parse_wrk(WRK_OUTPUT)
    assert figures["requests"] == 159
    assert figures["seconds"] == pytest.approx(3.08)
    assert figures["rps"] == pytest.approx(51.68)
    assert figures["failures"] == 0
    assert figures["p50_ms"] == pytest.approx(494.873)
    assert figures["p95_ms"] == pytest.approx(811.939)
    assert figures["p99_ms"] == pytest.approx(854.014)


def test_wrk_failures_count_non_2xx_answers_and_socket_errors() -> None:
    figures = parse_wrk(WRK_FAILING)
    assert figures["failures"] == 3693 + 2 + 5
    assert (figures["non_2xx"], figures["socket_errors"]) == (3693, 7)
    assert figures["p95_ms"] == pytest.approx(10.598)
    assert figures["p50_ms"] is None  # not printed: not made up


def test_a_run_that_completed_nothing_has_no_percentiles() -> None:
    figures = parse_wrk(WRK_NOTHING)
    assert (figures["requests"], figures["rps"], figures["p95_ms"]) == (0, 0.0, None)


def test_a_text_that_is_no_wrk_report_is_refused() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_runs_with_32_connections_the_cookie_and_the_percentile_script() -> None:
    run = WrkRun("http://127.0.0.1:1/product/X", 10, headers={"Cookie": "shopper=abc"})
    argv = run.argv("wrk", Path("/tmp/p.lua"))
    assert argv[:4] == ["wrk", "-t2", "-c32", "-d10s"]
    assert argv[4:6] == ["-H", "Cookie: shopper=abc"]
    assert argv[-6:-4] == ["--timeout", "30s"]  # a slow page stays in the figures
    assert argv[-4:] == ["--latency", "-s", "/tmp/p.lua", "http://127.0.0.1:1/product/X"]


def test_a_paced_run_pauses_each_connection_in_its_script() -> None:
    assert "delay" not in WrkRun("http://127.0.0.1:1/", 1).script()
    paced = WrkRun("http://127.0.0.1:1/", 1, delay_ms=212.6).script()
    # An exponential pause of that mean (ms): -ln(U) * mean, U uniform in (0, 1].
    assert paced.startswith(
        "delay = function() return math.floor(-math.log(1 - math.random()) * 212.600 + 0.5) end\n"
    )
    assert "mosaic-percentile" in paced  # the percentiles still printed


def test_missing_wrk_without_root_says_how_to_install_it() -> None:
    said: list[str] = []
    with pytest.raises(MosaicError, match="needs wrk") as caught:
        ensure_wrk(said.append, which="", apt_get=True, root=False)
    assert "apt-get install -y wrk" in (caught.value.hint or "")
    assert ensure_wrk(said.append, which="/usr/bin/wrk") == "/usr/bin/wrk"
    assert said == []


def _page(rps: float, cpu_s: float, p95: float) -> dict[str, Any]:
    return {"rps": rps, "p95_ms": p95, "cpu": {"per_request": {"with_backing": cpu_s}}}


def _results(product_rps: float, product_cpu_s: float) -> dict[str, Any]:
    micro = {
        "page": _page(product_rps, product_cpu_s, 40.0),
        "half_rate": {"p95_ms": 25.0},
        "closed": {"checkout": {"cpu": {"per_request": {"with_backing": 0.069}}}},
        "rss": {"idle": {"with_backing": 1.3 * 2**30}},
    }
    return {
        "modes": {"microservices": micro},
        "pages": pages_summary(micro["page"], _page(714.0, 0.0025, 60.0)),
        "ratios": {"flows": {"browse": {"cpu_per_request": 1.87, "p50": 1.54}}},
    }


def test_target_lines_say_met_or_not_with_the_figure() -> None:
    lines = target_lines(_results(product_rps=146.0, product_cpu_s=0.0103))
    assert "NOT met  product page shop CPU ≤ 5 ms: 10.3 ms" in lines[0]
    assert "NOT met  product pages/s ≥ 300 (wrk, 32 connections): 146" in lines[1]
    assert "NOT met  product pages/s ≥ 40 % of the floor's: 20%" in lines[2]
    assert lines[3].endswith("met  product page p95 ≤ 30 ms at half that rate: 25.0 ms")
    assert "NOT met  checkout shop CPU ≤ 35 ms: 69.0 ms" in lines[4]
    assert "NOT met  idle RSS sum ≤ 1 GiB: 1.30 GiB" in lines[5]
    assert lines[6].endswith("met  browse: CPU ≤ 2x in-process: 1.87x")
    assert lines[7].endswith("met  browse: p50 ≤ 3x in-process: 1.54x")


def test_targets_met_by_a_fast_enough_product_page() -> None:
    found = {t.name: t for t in issue16_targets(_results(product_rps=320.0, product_cpu_s=0.0045))}
    assert found["product page shop CPU ≤ 5 ms"].met is True
    assert found["product pages/s ≥ 300 (wrk, 32 connections)"].met is True
    assert found["product pages/s ≥ 40 % of the floor's"].figure == "45%"


def test_a_floor_only_run_measures_no_product_target() -> None:
    found = issue16_targets({"pages": pages_summary(None, _page(714.0, 0.0025, 60.0))})
    assert {t.met for t in found} == {None}
    assert all(t.figure == "not measured" for t in found)


@pytest.mark.system
@pytest.mark.parametrize("built", [[], ["--chassis"]], ids=["bare", "chassis"])
def test_the_floor_serves_its_page_from_its_own_processes(tmp_path: Path, built: list[str]) -> None:
    port = free_port()
    script = workspace_root() / "bench" / "floor.py"
    log = tmp_path / "floor.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, str(script), "up", "--port", str(port), *built],
            env={**os.environ, "MOSAIC_HOME": str(tmp_path / "home")},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        state = _ready_state(tmp_path / "home", up, log, timeout=240)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            page = answer.read().decode()
        assert "<h1>Sunglasses</h1><p>Tank top</p><p>Hello from the floor</p>" in page
        names = sorted(p["service"] for p in state["processes"])
        assert names == [
            "floor-edge",
            "floor-greeting",
            "floor-items-a",
            "floor-items-b",
            "postgres",
            "valkey",
        ]
        processes = [psutil.Process(p["pid"]) for p in state["processes"]]  # alive now
        _callees_require_a_client_certificate(tmp_path / "home", state, bare=not built)
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(processes, timeout=10)
        assert not alive, f"left running: {alive}"
    finally:
        if up.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(up.pid, signal.SIGKILL)
            up.wait(timeout=10)


def _callees_require_a_client_certificate(home: Path, state: dict[str, Any], bare: bool) -> None:
    """Each hop is mTLS: a callee refuses, in the TLS handshake, a client without a
    certificate, and answers one with a certificate from the run's CA (the bare floor's
    with its page's data; the chassis' with 401, as it wants a service token too)."""
    edge = Pki.of(home).service("floor-edge")
    callees = [p for p in state["processes"] if p["service"] not in ("floor-edge", *BACKING)]
    assert len(callees) == 3
    for entry in callees:
        # Its service port, given as PORT: a chassis callee also listens on its plain-HTTP
        # ops port (OPS_PORT), so "the port it listens on" would be either, by chance.
        port = int(psutil.Process(entry["pid"]).environ()["PORT"])
        path = "/v1/greeting" if entry["service"] == "floor-greeting" else "/v1/items/1"
        url = f"https://127.0.0.1:{port}{path}"
        without = ssl.create_default_context(cafile=str(edge.ca_cert))
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)) as refused:
            _status(url, without)
        assert not isinstance(refused.value, urllib.error.HTTPError), "answered over HTTP"
        with_cert = ssl.create_default_context(cafile=str(edge.ca_cert))
        with_cert.load_cert_chain(str(edge.cert), str(edge.key))
        assert _status(url, with_cert) == (200 if bare else 401)


def _status(url: str, context: ssl.SSLContext) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as answer:  # noqa: S310
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def _ready_state(
    home: Path, up: subprocess.Popen[bytes], log: Path, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(home)
        if state and state.get("ready"):
            return state
        if up.poll() is not None:
            pytest.fail(f"bench/floor.py up exited ({up.returncode}):\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"the floor was not ready in {timeout:.0f} s: {json.dumps(read_state(home))}")
