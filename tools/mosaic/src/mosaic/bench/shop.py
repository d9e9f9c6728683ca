"""The shop under test: a `mosaic up` this command starts on a fresh home, or one running."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mosaic.bench.options import FLOOR, IN_PROCESS
from mosaic.errors import MosaicError
from mosaic.home import workspace_root
from mosaic.ports import free_port
from mosaic.state import read_state, reap_leftovers, runner_pid

STOP_TIMEOUT = 60.0


class Shop:
    """Where the shop answers (url), and where its state says which processes it runs."""

    def __init__(self, mode: str, url: str, home: Path | None, started: bool) -> None:
        self.mode = mode
        self.url = url
        self.home = home
        self.started = started  # by us: we stop it and delete its home
        self.ready_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path: Path | None = None
        self._began = time.monotonic()

    def state(self) -> dict[str, Any] | None:
        return read_state(self.home) if self.home is not None else None

    @property
    def mailbox(self) -> str | None:
        """The dev mailbox's URL (signed-in load users confirm their accounts there)."""
        found = (self.state() or {}).get("mailbox")
        return str(found) if found else None

    def processes(self) -> list[dict[str, Any]]:
        return list((self.state() or {}).get("processes", []))

    @classmethod
    def launch(cls, mode: str, log_path: Path, up_args: tuple[str, ...]) -> "Shop":
        """`mosaic up` on a new temporary home and a free port; then `wait_ready()`."""
        home = Path(tempfile.mkdtemp(prefix=f"mosaic-bench-{mode}-"))
        port = free_port()
        shop = cls(mode, f"http://127.0.0.1:{port}", home, started=True)
        argv = [sys.executable, "-m", "mosaic", "up", "--port", str(port), *up_args]
        if mode == IN_PROCESS:
            argv.append("--in-process")
        if mode == FLOOR:  # writes the same state as `mosaic up`: ready, url, pids
            argv = [sys.executable, str(workspace_root() / "bench" / "floor.py"), "up"]
            argv += ["--port", str(port)]
        shop.log_path = log_path
        shop._log = log_path.open("wb")
        shop._began = time.monotonic()
        shop._process = subprocess.Popen(
            argv,
            env={**os.environ, "MOSAIC_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=shop._log,  # a file, not a pipe: its log lines never wait on us
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this command, which stops it in order
        )
        return shop

    @classmethod
    def attach(cls, url: str | None, home: Path | None) -> "Shop":
        """A shop someone else runs: by its home (state gives the URL and pids), or URL."""
        if home is not None:
            state = read_state(home) if runner_pid(home) is not None else None
            if state is None or not state.get("ready"):
                raise MosaicError(
                    f"no ready `mosaic up` runs on {home}",
                    "Start it (`MOSAIC_HOME=... mosaic up`), or let bench start one: "
                    "drop --home and --url.",
                )
            url = url or str(state["url"])
        assert url is not None
        shop = cls("attached", url.rstrip("/"), home, started=False)
        if not shop.answers():
            raise MosaicError(
                f"nothing answers at {url}",
                "Check the URL, or let bench start the shop itself: drop --url.",
            )
        return shop

    def answers(self) -> bool:
        if not self.url.startswith(("http://", "https://")):
            return False
        try:
            with urllib.request.urlopen(self.url + "/", timeout=5) as response:  # noqa: S310
                return bool(response.status < 500)
        except urllib.error.HTTPError as error:
            return error.code < 500
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        """Stop what we started (SIGTERM, as Ctrl-C would; SIGKILL after a minute), then
        delete its home. Nothing for an attached shop."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.started and self.home is not None:
            reap_leftovers(self.home, grace=2.0)  # only if `up` died without stopping them
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def wait_ready(self, timeout: float, tick: Callable[[], None] = lambda: None) -> None:
        """Back once the state says ready; MosaicError (with its output) if `up` exits or
        takes over timeout seconds."""
        assert self._process is not None and self.home is not None
        deadline = time.monotonic() + timeout
        while True:
            state = read_state(self.home)
            if state and state.get("ready"):
                self.ready_seconds = time.monotonic() - self._began
                return
            if self._process.poll() is not None:
                raise MosaicError(
                    f"mosaic up ({self.mode}) exited before it was ready",
                    f"Its output is above (all of it in {self.log_path}).",
                    output=self._log_tail(),
                )
            if time.monotonic() > deadline:
                raise MosaicError(
                    f"mosaic up ({self.mode}) was not ready within {timeout:.0f} s",
                    f"Its output is above (all of it in {self.log_path}); "
                    "a busy machine may need --ready-timeout.",
                    output=self._log_tail(),
                )
            tick()
            time.sleep(0.2)

    def _log_tail(self, lines: int = 25) -> str:
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""
