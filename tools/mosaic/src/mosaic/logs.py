"""One stream of every process's output on stdout: `catalog.web.1 | ...`, aligned, coloured
by service on a terminal. Services log one JSON object per line; on a terminal those are
rendered compactly, otherwise passed through untouched for the next tool in the pipe.
Each line also goes to the process's file under $MOSAIC_HOME/logs (`mosaic.log_files`).

Plain ANSI codes rather than rich here: this path runs for every log line of every
process, thousands per second under load, where rich costs ~0.4 ms a line.
"""

import asyncio
import json
import os
import sys
from collections import deque
from collections.abc import Iterable
from typing import Any, TextIO

from mosaic.log_files import LogFiles

RUNNER = "mosaic"
LINE_LIMIT = 1 << 20  # longer lines are cut; asyncio's default of 64 KiB is too tight
_PALETTE = ("36", "35", "32", "33", "34", "96", "95", "92", "93", "94")  # SGR colours
_LEVELS = {"debug": "2", "info": "32", "warning": "33", "error": "1;31", "critical": "1;31"}
_HIDDEN_KEYS = frozenset(
    {"service", "version", "logger", "timestamp", "level", "event", "exception", "process"}
)


class LogStream:
    def __init__(
        self, out: TextIO | None = None, pretty: bool | None = None, files: LogFiles | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.files = files
        self.pretty = self.out.isatty() if pretty is None else pretty
        self.color = self.pretty and "NO_COLOR" not in os.environ
        self.width = len(RUNNER)
        self._prefixes: dict[str, str] = {}
        self._colors: dict[str, str] = {RUNNER: "1"}
        self._broken = False

    def reserve(self, names: Iterable[str]) -> None:
        """Align prefixes for these names; call with every name known up front."""
        self.width = max(self.width, *(len(n) for n in names))
        self._prefixes.clear()

    def line(self, source: str, text: str) -> None:
        if self.files is not None:
            self.files.add(source, text)
        if self.pretty:
            text = render_event(text, self.color, source.split(".", 1)[0]) or text
        self._write(self._prefix(source) + text + "\n")

    def note(self, text: str) -> None:
        """A message of the runner itself."""
        self.line(RUNNER, text)

    def banner(self, text: str) -> None:
        """A line printed exactly as given, without prefix (the ready line)."""
        if self.files is not None:
            self.files.add(RUNNER, text)
        self._write((_paint(text, "1;32") if self.color else text) + "\n")

    async def pump(self, source: str, reader: asyncio.StreamReader, tail: deque[str]) -> None:
        """Copy a child's output line by line until it closes, keeping the last lines."""
        while True:
            try:
                raw = await reader.readline()
            except ValueError:  # longer than LINE_LIMIT: asyncio drops it
                raw = b"[mosaic: an over-long line was cut]\n"
            if not raw:
                return
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            tail.append(text)
            self.line(source, text)

    def close(self) -> None:
        """Write what the files still wait for; call once, after the last line."""
        if self.files is not None:
            self.files.close()

    def _prefix(self, source: str) -> str:
        if source not in self._prefixes:
            prefix = f"{source:<{self.width}} | "
            if self.color:
                service = source.split(".", 1)[0]
                if service not in self._colors:
                    self._colors[service] = _PALETTE[(len(self._colors) - 1) % len(_PALETTE)]
                prefix = _paint(prefix, self._colors[service])
            self._prefixes[source] = prefix
        return self._prefixes[source]

    def _write(self, text: str) -> None:
        if self._broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except (BrokenPipeError, ValueError):
            self._broken = True  # nobody reads our output any more; keep running anyway


def render_event(line: str, color: bool, service: str | None = None) -> str | None:
    """`12:00:01.234 info    request method=GET path=/ ...` for a JSON log line, else None.

    A line whose service is not `service` (the prefix's: one process hosting several
    services, `mosaic up --in-process`) names its own."""
    if not line.startswith("{"):
        return None
    try:
        event: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or "event" not in event:
        return None

    def paint(text: str, sgr: str) -> str:
        return _paint(text, sgr) if color and sgr else text

    stamp = str(event.get("timestamp", ""))
    level = str(event.get("level", "info")).lower()
    parts = [paint(stamp[11:23], "2")] if len(stamp) >= 23 else []
    parts.append(paint(f"{level:<7}", _LEVELS.get(level, "")))
    parts.append(paint(str(event["event"]), "1"))
    if service is not None and event.get("service", service) != service:
        parts.append(paint("service=", "2") + str(event["service"]))
    for key, value in event.items():
        if key not in _HIDDEN_KEYS:
            shown = value if isinstance(value, str) else json.dumps(value)
            parts.append(paint(f"{key}=", "2") + shown)
    text = " ".join(parts)
    if "exception" in event:
        text += "\n" + paint(str(event["exception"]), "31")
    return text


def _paint(text: str, sgr: str) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m"
