"""The load generator run beside a system test, one process per flow (open loop), its
result checked at the end: no failed request, nothing failed while setting up, and the
measured window still open when the test's own checks were done. The window is asked long
(`seconds` bounds it) and ended once the checks are done (loadgen's SIGUSR1), so a test
waits for no load beyond its checks."""

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

AFTER_SECONDS = 2  # the load goes on this long after the checks, then its window ends

# flow -> its loadgen arguments besides the shop's; each open loop (a fixed rate), so the
# load stays the same whatever the test does meanwhile.
BROWSE_SIGN_UP_PROFILE = {
    "browse": ["--users", "3", "--rate", "4"],
    "profile": ["--users", "2", "--rate", "2"],
    "sign_up": ["--users", "2", "--rate", "0.5"],
}


def end(runs: Iterable[subprocess.Popen[str]]) -> None:
    """Kill those still running, wait for each, and close their pipes: a pipe left open
    is a ResourceWarning when the object is collected, which pytest raises in whatever
    test runs then (seen: an error in a test of Kubernetes overlays after a failed load)."""
    for run in runs:
        if run.poll() is None:
            run.kill()
        run.wait()
        for pipe in (run.stdin, run.stdout, run.stderr):
            if pipe is not None:
                pipe.close()


class LoadRuns:
    """`with LoadRuns(...) as load:` the flows run (their users set up, e.g. signed up)
    before the block; `load.finish(checks_done)` waits for their results and checks them."""

    def __init__(
        self,
        shop: str,
        mailbox: str,
        folder: Path,
        *,
        seconds: float,
        seed: int,
        flows: dict[str, list[str]] | None = None,
    ) -> None:
        folder.mkdir(parents=True)
        self.outs: dict[str, Path] = {}
        self.runs: dict[str, subprocess.Popen[str]] = {}
        for number, (flow, arguments) in enumerate((flows or BROWSE_SIGN_UP_PROFILE).items()):
            self.outs[flow] = folder / f"{flow}.json"
            argv = [sys.executable, "-m", "loadgen", "run", "--host", shop, "--mailbox", mailbox,
                    "--flow", flow, *arguments, "--duration", str(seconds),
                    "--seed", str(seed * 100 + number), "--out", str(self.outs[flow])]  # fmt: skip
            self.runs[flow] = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

    def __enter__(self) -> Self:
        for flow, run in self.runs.items():  # its first progress line: its users are at work
            assert run.stdout is not None
            line = run.stdout.readline()
            if not line:
                self.kill()
                raise AssertionError(f"loadgen {flow} exited: {run.communicate()[1]}")
        return self

    def finish(self, checks_done: float) -> dict[str, dict[str, Any]]:
        """Each flow's result, its window ended AFTER_SECONDS from now; fails on any failed
        action or request."""
        time.sleep(AFTER_SECONDS)
        for run in self.runs.values():
            if run.poll() is None:
                run.send_signal(signal.SIGUSR1)
        found = {}
        for flow, run in self.runs.items():
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
            result = json.loads(self.outs[flow].read_text())
            assert result["setup_errors"] == [], (flow, result["setup_errors"])
            assert result["errors"] == [] and result["total"]["failures"] == 0, (flow, result)
            assert result["total"]["requests"] > 0, (flow, result["total"])
            assert result["window"]["end"] > checks_done, (
                f"loadgen {flow} ended before the checks did: raise its seconds"
            )
            found[flow] = result
        return found

    def kill(self) -> None:
        end(self.runs.values())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()
