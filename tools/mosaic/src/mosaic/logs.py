"""One stream of every process's output on stdout: `catalog.web.1 | ...`, aligned, coloured
by service on a terminal. Services log one JSON object per line; on a terminal those are
rendered compactly, otherwise passed through untouched for the next tool in the pipe.
"""

import asyncio
import json
import sys
from collections import deque
from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

RUNNER = "mosaic"
_PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta")
_LEVEL_STYLES = {"debug": "dim", "info": "green", "warning": "yellow", "error": "bold red"}
_HIDDEN_KEYS = ("service", "version", "logger", "timestamp", "level", "event", "exception")
LINE_LIMIT = 1 << 20  # longer lines are cut; asyncio's default of 64 KiB is too tight


class LogStream:
    def __init__(self, out: TextIO | None = None, pretty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.pretty = self.out.isatty() if pretty is None else pretty
        self.console = Console(file=self.out, highlight=False, soft_wrap=True, emoji=False)
        self.width = len(RUNNER)
        self._colors: dict[str, str] = {RUNNER: "bold white"}
        self._broken = False

    def reserve(self, names: Iterable[str]) -> None:
        """Align prefixes for these names; call with every name known up front."""
        self.width = max(self.width, *(len(n) for n in names))

    def line(self, source: str, text: str) -> None:
        if self._broken:
            return
        try:
            if self.pretty:
                prefix = Text(f"{source:<{self.width}} | ", style=self._color(source))
                self.console.print(prefix + (render_event(text) or Text(text)))
            else:
                self.out.write(f"{source:<{self.width}} | {text}\n")
                self.out.flush()
        except (BrokenPipeError, ValueError):
            self._broken = True  # nobody reads our output any more; keep running anyway

    def note(self, text: str) -> None:
        """A message of the runner itself."""
        self.line(RUNNER, text)

    def banner(self, text: str) -> None:
        """A line printed exactly as given, without prefix (the ready line)."""
        if self.pretty:
            self.console.print(Text(text, style="bold green"))
        else:
            self.out.write(text + "\n")
            self.out.flush()

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

    def _color(self, source: str) -> str:
        service = source.split(".", 1)[0]
        if service not in self._colors:
            self._colors[service] = _PALETTE[(len(self._colors) - 1) % len(_PALETTE)]
        return self._colors[service]


def render_event(line: str) -> Text | None:
    """`12:00:01.234 info  request served method=GET path=/ ...` for a JSON log line."""
    if not line.startswith("{"):
        return None
    try:
        event: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or "event" not in event:
        return None
    stamp = str(event.get("timestamp", ""))
    level = str(event.get("level", "info")).lower()
    text = Text()
    text.append(stamp[11:23] + " " if len(stamp) >= 23 else "", "dim")
    text.append(f"{level:<7} ", _LEVEL_STYLES.get(level, ""))
    text.append(str(event["event"]), "bold")
    for key, value in event.items():
        if key not in _HIDDEN_KEYS:
            text.append(f" {key}=", "dim")
            text.append(value if isinstance(value, str) else json.dumps(value))
    if "exception" in event:
        text.append("\n" + str(event["exception"]), "red")
    return text
