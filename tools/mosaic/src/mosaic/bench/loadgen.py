"""One run of the load generator (`python -m loadgen run ...`) as a subprocess.

Its progress (one JSON line a second on stdout) goes to a callback; its result is the
JSON file it writes. Runs in its own session: a Ctrl-C here stops it through `stop()`,
never half-way by the terminal.
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaic.children import Command, stop_sync
from mosaic.errors import MosaicError

FIGURES = ("requests", "failures", "dropped", "rps", "p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True)
class LoadRun:
    """What to run: a flow (or "mix") closed loop with `users`, or open loop at `rate`."""

    name: str  # how the bench calls it, e.g. "closed/browse" or "step/3"
    flow: str
    users: int
    duration: float
    warmup: float = 0.0
    rate: float | None = None
    seed: int = 1

    def argv(self, host: str, out: Path, mailbox: str | None = None) -> list[str]:
        argv = [sys.executable, "-m", "loadgen", "run", "--host", host, "--flow", self.flow]
        if mailbox is not None:
            argv += ["--mailbox", mailbox]
        argv += ["--users", str(self.users), "--duration", f"{self.duration:g}"]
        if self.rate is not None:
            argv += ["--rate", f"{self.rate:g}"]
        argv += ["--warmup", f"{self.warmup:g}", "--seed", str(self.seed), "--out", str(out)]
        return argv


class LoadgenProcess:
    def __init__(self, run: LoadRun, host: str, out: Path, mailbox: str | None = None) -> None:
        self.run = run
        self.host = host
        self.out = out
        self.mailbox = mailbox
        self.tail: deque[str] = deque(maxlen=30)
        self._process: subprocess.Popen[str] | None = None

    def execute(
        self, on_progress: Callable[[dict[str, Any]], None], timeout: float
    ) -> dict[str, Any]:
        """Run to completion; the result JSON. MosaicError when it fails or hangs."""
        self.out.unlink(missing_ok=True)
        try:
            self._process = subprocess.Popen(
                self.run.argv(self.host, self.out, self.mailbox),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as error:
            raise MosaicError(f"cannot start the load generator: {error}", _SYNC_HINT) from None
        reader = threading.Thread(target=self._read, args=(on_progress,), daemon=True)
        reader.start()
        try:
            code = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise MosaicError(
                f"the load generator ran over {timeout:.0f} s ({self.run.name})",
                "Its last output is below; try again with shorter phases or fewer users.",
                output="\n".join(self.tail),
            ) from None
        finally:
            reader.join(timeout=5)
            if self._process.stdout is not None:
                self._process.stdout.close()
        return self._result(code)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after grace seconds: the whole session of it."""
        process = self._process
        if process is not None and process.poll() is None:
            stop_sync(process.pid, Command(argv=(), grace_seconds=grace), process.poll)

    def _read(self, on_progress: Callable[[dict[str, Any]], None]) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    progress = json.loads(line)
                    if isinstance(progress, dict):
                        on_progress(progress)

    def _result(self, code: int) -> dict[str, Any]:
        output = "\n".join(self.tail)
        if code == 1:
            raise MosaicError(
                f"the load generator could not reach the shop at {self.host}",
                "Check that the shop is up (`mosaic status`) and the URL is right.",
                output=output,
            )
        if code != 0:
            missing = "No module named loadgen" in output
            raise MosaicError(
                f"the load generator failed ({self.run.name}, exit code {code})",
                _SYNC_HINT if missing else "Its last output is above.",
                output=output,
            )
        try:
            result = json.loads(self.out.read_text())
        except (OSError, ValueError) as error:
            raise MosaicError(
                f"the load generator wrote no readable result ({self.run.name}): {error}",
                "Its last output is above.",
                output=output,
            ) from None
        if not isinstance(result, dict) or not isinstance(result.get("total"), dict):
            raise MosaicError(
                f"the load generator's result has no totals ({self.run.name})",
                "Is loadgen older than this mosaic? Run `uv sync` at the repository root.",
            )
        return result


_SYNC_HINT = "Install the workspace (`uv sync` at the repository root) and try again."
