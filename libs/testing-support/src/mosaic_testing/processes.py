"""`mosaic up` as a subprocess, and a service process of a test's own."""

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

import httpx
import psutil
from mosaic.log_files import logs_folder
from mosaic.log_reading import LogFilter, read_entries
from mosaic.ports import free_port
from mosaic.state import served_by

from mosaic_testing.calls import service_client
from mosaic_testing.waiting import wait_until


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


# How a system test can run the shop: as separate processes (the normal mode), or with every
# service in one process (`mosaic up --in-process`, the benchmark's floor). Tests that hold
# in both parametrize their module's shop with `params=MODES` and start it with
# `UpProcess(home, port, *up_args(request.param))`.
MODES = ("processes", "in-process")


def gone(pid: int) -> bool:
    """Whether process `pid` has ended (exited, or a zombie its parent has not reaped)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def up_args(mode: str) -> tuple[str, ...]:
    """The `mosaic up` arguments of a mode in MODES."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    return ("--in-process",) if mode == "in-process" else ()


def trace_of_request(home: Path, request_id: str, timeout: float = 30) -> str:
    """The trace id logged with one request (e.g. the frontend's request line), read from
    the log files of the `mosaic up` at `home` as `mosaic logs` reads them."""
    found: list[str] = []

    def logged() -> bool:
        entries = read_entries(logs_folder(home), LogFilter(grep=request_id))
        found.extend(
            str(e.record["trace_id"])
            for e in entries
            if e.record.get("request_id") == request_id and e.record.get("trace_id")
        )
        return bool(found)

    wait_until(logged, timeout, f"a log line of request {request_id}")
    return found[0]


# The liveness probe of a test's shop: 6 misses of 5 s (4 s each to answer), not the
# default 3 of 5 s (2 s). `mosaic test` runs two shops at once under load on two cores,
# where a process or the runner may be starved of CPU for longer than the default allows:
# that is no wedged process, and a kill there fails a test about something else (seen:
# test_names_across_releases, every process of its shop unready at once, five killed).
# The tests of liveness itself give the numbers they test (`extra_env`).
TEST_LIVENESS = "5,4,6"


class UpProcess:
    """A `mosaic up --port PORT` on `home`; its output is collected line by line."""

    def __init__(
        self, home: Path, port: int, *args: str, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self.env = {**os.environ, "MOSAIC_HOME": str(home), "MOSAIC_LIVENESS": TEST_LIVENESS,
                    **(extra_env or {})}  # fmt: skip
        self.argv = [sys.executable, "-m", "mosaic", "up", "--port", str(port), *args]
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None
        self._mailbox: str | None = None  # the dev mailbox's URL, once asked for

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

    def wait_for_line(
        self, matches: Callable[[str], bool], timeout: float, what: str, *, after: int = 0
    ) -> str:
        """The first output line from line `after` on (e.g. `len(up.lines)` before a step:
        what was logged earlier proves nothing about it) for which matches(line) holds;
        fails with `what` after timeout seconds (or once `up` has exited without one)."""
        deadline, seen = time.monotonic() + timeout, after
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

    def client(self, service: str, caller: str = "admin", timeout: float = 30) -> httpx.Client:
        """An HTTP client of `service`'s API as `caller` (default the operator), over mTLS
        with a fresh service token per request; see `service_client`."""
        served = served_by(self.status())
        port = next(p["port"] for p in served if p.get("service") == service and p.get("port"))
        return service_client(Path(self.env["MOSAIC_HOME"]), service, port, caller=caller,
                              timeout=timeout)  # fmt: skip

    def mail(self) -> list[dict[str, Any]]:
        """Every message in the dev mailbox (`/messages.json`), newest first: id, to,
        subject, message_id, text, html, ..."""
        if self._mailbox is None:
            self._mailbox = self.status().get("mailbox")
        assert self._mailbox, "this `mosaic up` runs no dev mailbox (no service has backing smtp)"
        response = httpx.get(f"{self._mailbox}/messages.json", timeout=10)
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def run_job(self, service: str, job: str, timeout: float = 120) -> str:
        """`mosaic admin run SERVICE JOB`: one run now; its output (fails if it failed)."""
        result = mosaic("admin", "run", service, job, env=self.env, timeout=timeout)
        assert result.returncode == 0, f"{service} {job} failed:\n{result.stdout}{result.stderr}"
        return result.stdout + result.stderr

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


def process_environment(pid: int) -> dict[str, str]:
    """The environment a running process was started with (Linux /proc): how a test starts a
    process of its own exactly as the runner started one of a service's."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    return {name.decode(): value.decode() for name, value in pairs}


class ServiceProcess:
    """A service process of a test's own (`python -m <module>`) on free ports, started with
    `env` (as a rule the runner's environment for one of the service's, from
    `process_environment`, plus what the test changes), ready once its /readyz answers; its
    output in `log`."""

    def __init__(
        self,
        module: str,
        env: Mapping[str, str],
        log: Path,
        timeout: float = 90,
        *,
        port: int | None = None,
    ):
        # `port`: a given one, e.g. to start a service again where its callers point.
        self.port, self.ops = port or free_port(), free_port()
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module],
                env={**env, "PORT": str(self.port), "OPS_PORT": str(self.ops)},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.process.poll() is None, self.output()
            try:
                return httpx.get(f"http://127.0.0.1:{self.ops}/readyz", timeout=2).is_success
            except httpx.HTTPError:
                return False

        try:
            wait_until(ready, timeout, f"{module} is ready")
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def logged(self, event: str) -> list[dict[str, Any]]:
        """Its JSON log lines for `event`, in order."""
        found = []
        for line in self.output().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == event:
                found.append(entry)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
