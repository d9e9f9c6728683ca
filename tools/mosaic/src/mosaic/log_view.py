"""`mosaic logs`: the kept lines, filtered, in time order; pretty on a terminal, raw with
--json; --follow keeps printing what is written, across rotation, until Ctrl-C."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from mosaic.errors import MosaicError
from mosaic.log_files import log_files
from mosaic.log_reading import Entry, Follower, LogFilter, read_entries
from mosaic.logs import RUNNER, LogStream

FOLLOW_SECONDS = 0.25  # how often --follow looks at the files
ALWAYS_KNOWN = ("postgres", "valkey", RUNNER)


def known_names(folder: Path, services: Iterable[str]) -> list[str]:
    """What SERVICE may name: the services, the backing servers, the runner, and the
    first part of any file's name (e.g. the in-process host's)."""
    from_files = {process.split(".", 1)[0] for process in log_files(folder)}
    return sorted({*services, *ALWAYS_KNOWN, *from_files})


class Printer:
    def __init__(self, as_json: bool, processes: Iterable[str], out: TextIO | None = None):
        self.out = out or sys.stdout
        self.as_json = as_json
        self.stream = LogStream(self.out, pretty=True)
        self.stream.color = self.stream.color and self.out.isatty()
        self.stream.reserve([RUNNER, *processes])

    def print(self, entries: Iterable[Entry]) -> int:
        shown = 0
        for entry in entries:
            if self.as_json:
                self.out.write(entry.line + "\n")
            else:
                self.stream.line(entry.process, entry.line)
            shown += 1
        self.out.flush()
        return shown


def show_logs(folder: Path, keep: LogFilter, *, as_json: bool, follow: bool) -> int:
    """Print the kept lines (how many: without `follow`); with `follow`, then every new
    one, until Ctrl-C."""
    processes = log_files(folder)
    if not processes:
        raise MosaicError(
            f"no logs in {folder} yet",
            "`mosaic up` writes every process's lines there as the shop runs: start it "
            "(or set MOSAIC_HOME to the home of the shop you ran).",
        )
    printer = Printer(as_json, processes)
    if not follow:
        return printer.print(read_entries(folder, keep))
    follower = Follower(folder)
    try:
        printer.print(read_entries(folder, keep, stops=follower.start()))
        while True:  # until Ctrl-C
            time.sleep(FOLLOW_SECONDS)
            printer.print(follower.poll(keep))
    finally:
        follower.close()
