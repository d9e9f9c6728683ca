"""Closed-loop page load with `wrk` (Debian's package, 4.1.0), and reading what it prints.

A Python load generator needs about as much CPU per request as the pages it asks for: at
300+ pages/s on 2 cores it would take the cores the shop needs, so the pages phase of
`mosaic bench` drives its 32 connections with wrk, written in C. wrk's `--latency` prints
only p50, p75, p90 and p99: a small Lua `done()` adds p95 (microseconds, one line each).
wrk 4 cannot pace its requests (an open loop needs wrk2): the half-rate phase stays with
the load generator's open loop. What it can do is pause each connection after every answer
(`delay_ms`, its Lua `delay()`, a random pause of that mean): many connections that each
pause offer about connections / (pause + answer time) requests a second, a rate that holds
while answers are fast (refusals are), which is how the overload test offers a multiple of
a capacity.
"""

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaic.chromium import Say, apt_install, apt_unusable, run_apt_get
from mosaic.errors import MosaicError

APT_INSTALL = ("apt-get", "install", "-y", "--no-install-recommends", "wrk")
PERCENTILES = (50, 90, 95, 99)  # DONE_SCRIPT's list
# Printed by wrk when the run ends: the percentiles its text report lacks.
DONE_SCRIPT = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("mosaic-percentile %g %d\\n", p, latency:percentile(p)))
  end
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", re.MULTILINE)
_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = re.compile(r"^mosaic-percentile ([\d.]+) (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class WrkRun:
    url: str
    seconds: float
    connections: int = 32
    threads: int = 2
    headers: Mapping[str, str] | None = None
    delay_ms: float | None = None  # each connection's pause after an answer

    def script(self) -> str:
        """The Lua script: the percentiles, and the pause when there is one."""
        if self.delay_ms is None:
            return DONE_SCRIPT
        # Exponential pauses of that mean, not a fixed one: connections refused together
        # with a fixed pause all come back together, in waves that leave the server idle
        # between them; independent exponential pauses make arrivals a Poisson stream, as
        # many shoppers who do not know of each other make.
        mean = f"{self.delay_ms:.3f}"
        return (
            f"delay = function() return math.floor(-math.log(1 - math.random()) * {mean} + 0.5)"
            f" end\n{DONE_SCRIPT}"
        )

    def argv(self, wrk: str, script: Path) -> list[str]:
        argv = [wrk, f"-t{self.threads}", f"-c{self.connections}", f"-d{self.seconds:g}s"]
        for name, value in (self.headers or {}).items():
            argv += ["-H", f"{name}: {value}"]
        # wrk leaves a request slower than its timeout (2 s by default) out of the figures:
        # on a busy machine that would hide the slowest pages
        return [*argv, "--timeout", "30s", "--latency", "-s", str(script), self.url]


def parse_wrk(text: str) -> dict[str, Any]:
    """The figures of one wrk run from its output: requests, errors, rate, percentiles (ms)."""
    found = _REQUESTS.search(text)
    rate = _RATE.search(text)
    if found is None or rate is None:
        raise ValueError(f"not a wrk report:\n{text[-500:]}")
    errors = _ERRORS.search(text)
    answers = _NON_2XX.search(text)
    non_2xx = int(answers.group(1)) if answers else 0
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    failures = non_2xx + socket_errors
    requests = int(found.group(1))
    # wrk prints percentiles of nothing as 0 after a run that completed no request
    percentiles = {float(p): int(us) / 1000 for p, us in _PERCENTILE.findall(text) if requests}
    return {
        "requests": requests,
        "seconds": float(found.group(2)) * _UNITS[found.group(3)] / 1000,
        "failures": failures,  # answers other than 2xx/3xx, and socket errors
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,  # connect, read, write and timeout
        "error_rate": failures / requests if requests else 0.0,
        "rps": float(rate.group(1)),
        **{f"p{p}_ms": percentiles.get(float(p)) for p in PERCENTILES},
    }


def run_wrk(run: WrkRun, wrk: str) -> tuple[dict[str, Any], str]:
    """Run wrk to its end; its figures and its output. MosaicError when it fails."""
    with tempfile.TemporaryDirectory(prefix="mosaic-wrk-") as folder:
        script = Path(folder) / "percentiles.lua"
        script.write_text(run.script())
        done = subprocess.run(
            run.argv(wrk, script),
            capture_output=True,
            text=True,
            timeout=run.seconds + 60,
            check=False,
        )
    output = done.stdout + done.stderr
    try:
        if done.returncode != 0:
            raise ValueError(f"exit code {done.returncode}")
        return parse_wrk(output), output
    except ValueError as error:
        raise MosaicError(
            f"wrk failed against {run.url}: {error}", "Its output is above.", output=output
        ) from None


def ensure_wrk(
    say: Say, which: str | None = None, apt_get: bool | None = None, root: bool | None = None
) -> str:
    """wrk's path; installed with apt-get when missing and running as root (as the browser
    tests install Chromium), else a MosaicError saying how to install it."""
    found = which if which is not None else shutil.which("wrk")
    if found:
        return found
    apt_get = shutil.which("apt-get") is not None if apt_get is None else apt_get
    root = os.geteuid() == 0 if root is None else root
    if why := apt_unusable(apt_get=apt_get, root=root):
        raise MosaicError(
            f"the pages phase needs wrk, which is not installed, and {why}",
            "Install it, e.g. `sudo apt-get install -y wrk` on Debian or Ubuntu, "
            "`brew install wrk` on macOS; then run the bench again.",
        )
    say("Installing wrk with apt-get (the pages phase's load generator)")
    if not apt_install(APT_INSTALL, _run, say) or not (found := shutil.which("wrk")):
        raise MosaicError("apt-get could not install wrk (its output is above).")
    return found


def _run(command: Sequence[str]) -> int:
    return run_apt_get(command)
