"""`mosaic up` as a subprocess, for tests of the runner and of the whole system."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self


def mosaic(
    *args: str, env: Mapping[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run one `mosaic` command to completion with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "mosaic", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll check() until it holds; fail the test with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


class UpProcess:
    """A `mosaic up --port PORT` on `home`; its output is collected line by line."""

    def __init__(
        self, home: Path, port: int, *args: str, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self.env = {**os.environ, "MOSAIC_HOME": str(home), **(extra_env or {})}
        self.argv = [sys.executable, "-m", "mosaic", "up", "--port", str(port), *args]
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a Ctrl-C on the test run reaches pytest only
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> str:
        """The first output line containing text; fails if `up` exits or times out first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                assert self.process is not None
                left = deadline - time.monotonic()
                if self.process.poll() is not None or left <= 0:
                    why = (
                        "exited" if self.process.poll() is not None else f"took over {timeout:g} s"
                    )
                    raise AssertionError(f"mosaic up {why} before {text!r}:\n{self.output_tail()}")
                self._changed.wait(min(left, 0.5))

    def wait_for_line(self, matches: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first output line for which matches(line) holds; fails with `what` after
        timeout seconds (or once `up` has exited without printing one)."""
        deadline, seen = time.monotonic() + timeout, 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if matches(line):
                        return line
                seen = len(self.lines)
                assert self.process is not None
                left = deadline - time.monotonic()
                if self.process.poll() is not None or left <= 0:
                    raise AssertionError(f"not within {timeout:g} s: {what}")
                self._changed.wait(min(left, 0.5))

    def wait_ready(self, timeout: float = 60) -> str:
        return self.wait_for("Mosaic is ready: ", timeout).split(": ", 1)[1]

    def status(self) -> dict[str, Any]:
        result = mosaic("status", "--json", env=self.env)
        try:
            data: dict[str, Any] = json.loads(result.stdout)
        except ValueError:
            raise AssertionError(f"mosaic status --json failed: {result}") from None
        return data

    def processes(self) -> dict[str, dict[str, Any]]:
        """Processes by name (postgres, valkey, catalog.web.1, ...) from `mosaic status`."""
        return {p["name"]: p for p in self.status().get("processes", [])}

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as `mosaic down` sends; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def output_tail(self, lines: int = 60) -> str:
        with self._changed:
            return "\n".join(self.lines[-lines:])

    def __enter__(self) -> Self:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout as output:
            for line in output:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()
