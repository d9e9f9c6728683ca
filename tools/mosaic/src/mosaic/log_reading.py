"""Reading the files `mosaic.log_files` writes: entries in time order across processes,
filtered, and followed as they grow (across rotation).

Each process's files are already in time order (one writer, appending), so the merge is
a streaming k-way merge (heapq.merge): memory stays one line per process, whatever the
folder holds. A line without a readable timestamp keeps its place in its own file (it
takes the time of the line before it).
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from mosaic.errors import UsageError
from mosaic.log_files import SUFFIX, log_files

LEVELS = ("debug", "info", "warning", "error", "critical")
_EPOCH = datetime.fromtimestamp(0, UTC)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Entry:
    when: datetime
    process: str  # the file's: catalog.web.1, postgres, mosaic
    line: str  # as stored
    record: Mapping[str, Any]

    @property
    def service(self) -> str:
        return str(self.record.get("service") or self.process.split(".", 1)[0])

    @property
    def level(self) -> str:
        return str(self.record.get("level", "unknown")).lower()


def parse_entry(process: str, line: str, previous: datetime = _EPOCH) -> Entry:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):  # not one of ours: a line kept whole
        record = {"event": line, "level": "unknown", "process": process}
    return Entry(_timestamp(record.get("timestamp")) or previous, process, line, record)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_since(text: str, now: datetime) -> datetime:
    """`10m`, `2h`, `1d`, `30s`, `1h30m` ago, or an ISO time (without a zone: this
    machine's local time, as a person types it)."""
    spec = text.strip().lower()
    if spec and _DURATION.sub("", spec).strip() == "":
        ago = timedelta()
        for amount, unit in _DURATION.findall(spec):
            ago += timedelta(**{_UNITS[unit]: float(amount)})
        return now - ago
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give a duration ago (30s, 10m, 2h, 1d) or an ISO time "
            "(2026-05-01T12:00, 2026-05-01 12:00:00+02:00)"
        ) from None
    return when if when.tzinfo else when.astimezone()  # local time when no zone was given


def parse_level(text: str) -> str:
    level = text.strip().lower()
    if level == "warn":
        return "warning"
    if level not in LEVELS:
        raise UsageError(f"--level {text!r}: give one of {', '.join(LEVELS)}")
    return level


def check_services(wanted: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """SERVICE or SERVICE.PROCESS (`orders`, `orders.relay`, `orders.web.2`): its first
    part must be a known name (a service, postgres, valkey, mosaic, or a file's)."""
    known = sorted(set(known))
    for name in wanted:
        if name.split(".", 1)[0] not in known:
            raise UsageError(f"unknown service {name!r}: give one of {', '.join(known)}")
    return tuple(wanted)


@dataclass(frozen=True)
class LogFilter:
    """What `mosaic logs` keeps: every given condition must hold."""

    services: tuple[str, ...] = ()
    since: datetime | None = None
    level: str | None = None  # at least this; a line of unknown level never passes
    grep: str | None = None  # a substring of the line as stored
    trace: str | None = None

    def may_hold(self, line: str) -> bool:
        """A cheap look at the stored line before it is parsed."""
        return (self.grep is None or self.grep in line) and (
            self.trace is None or self.trace in line
        )

    def keeps(self, entry: Entry) -> bool:
        if not self.may_hold(entry.line):
            return False
        if self.trace is not None and entry.record.get("trace_id") != self.trace:
            return False
        if self.since is not None and entry.when < self.since:
            return False
        if self.level is not None and (
            entry.level not in LEVELS or LEVELS.index(entry.level) < LEVELS.index(self.level)
        ):
            return False
        return not self.services or any(_names(entry, wanted) for wanted in self.services)


def _names(entry: Entry, wanted: str) -> bool:
    if "." in wanted:  # a process type or one instance
        return entry.process == wanted or entry.process.startswith(f"{wanted}.")
    return entry.service == wanted or entry.process.split(".", 1)[0] == wanted


def _lines(path: Path, start: int = 0, stop: int | None = None) -> Iterator[str]:
    """The lines of a file from byte `start` up to byte `stop`; a file gone is empty."""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return
    with file:
        file.seek(start)
        position = start
        for raw in file:
            position += len(raw)
            if stop is not None and position > stop:
                return
            yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _process_entries(
    process: str, paths: list[Path], stop: int | None, keep: LogFilter
) -> Iterator[Entry]:
    previous = _EPOCH
    for path in paths:
        if keep.since is not None and _written_before(path, keep.since):
            continue  # a whole file older than asked for
        current = path.name == f"{process}{SUFFIX}"
        for line in _lines(path, stop=stop if current else None):
            if not line:
                continue
            if not keep.may_hold(line):  # skipped unparsed; its time matters to no one
                continue
            entry = parse_entry(process, line, previous)
            previous = entry.when
            if keep.keeps(entry):
                yield entry


def _written_before(path: Path, since: datetime) -> bool:
    try:
        return path.stat().st_mtime < since.timestamp() - 1  # a second for clock rounding
    except FileNotFoundError:
        return True


def read_entries(
    folder: Path, keep: LogFilter, stops: Mapping[str, int] | None = None
) -> Iterator[Entry]:
    """Every kept entry in the folder, oldest first. `stops`: per process, where to stop
    reading its current file (what a follower starts from)."""
    streams = [
        _process_entries(process, paths, (stops or {}).get(process), keep)
        for process, paths in sorted(log_files(folder).items())
    ]
    return heapq.merge(*streams, key=lambda entry: entry.when)


@dataclass
class _Tail:
    path: Path
    file: BinaryIO
    inode: int
    rest: bytes = b""

    def read(self) -> list[str]:
        """The complete lines added since the last read; across a rotation, the old
        file's last lines, then the new file's."""
        try:
            rotated = self.path.stat().st_ino != self.inode
        except FileNotFoundError:
            rotated = False  # between the rename and the next write: look again later
        lines = self._drain()
        if rotated:
            self.file.close()
            self.file = self.path.open("rb")
            self.inode = self.path.stat().st_ino
            self.rest = b""
            lines += self._drain()
        return lines

    def _drain(self) -> list[str]:
        data = self.rest + self.file.read()
        *complete, self.rest = data.split(b"\n")
        return [raw.decode("utf-8", "replace") for raw in complete if raw]


@dataclass
class Follower:
    """Where each process's current file ends now; `poll` then gives what is added."""

    folder: Path
    tails: dict[str, _Tail] = field(default_factory=dict)

    def start(self) -> dict[str, int]:
        """Open every current file at its end; the offsets, for `read_entries(stops=)`."""
        for process in log_files(self.folder):
            self._open(process, at_end=True)
        return {process: tail.file.tell() for process, tail in self.tails.items()}

    def poll(self, keep: LogFilter) -> list[Entry]:
        for process in log_files(self.folder).keys() - self.tails.keys():
            self._open(process, at_end=False)  # a process that started writing since
        found = [
            parse_entry(process, line)
            for process, tail in self.tails.items()
            for line in tail.read()
        ]
        return sorted((e for e in found if keep.keeps(e)), key=lambda e: e.when)

    def close(self) -> None:
        for tail in self.tails.values():
            tail.file.close()

    def _open(self, process: str, *, at_end: bool) -> None:
        path = self.folder / f"{process}{SUFFIX}"
        try:
            file = path.open("rb")
        except FileNotFoundError:
            return  # only rotated files of it, or rotating right now
        if at_end:
            file.seek(0, 2)
        self.tails[process] = _Tail(path, file, path.stat().st_ino)
