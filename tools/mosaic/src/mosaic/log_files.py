"""Every process's output kept in files under $MOSAIC_HOME/logs, for `mosaic logs`.

One file per process instance (`orders.web.1.log`, `postgres.log`, `mosaic.log` for the
runner's own notes), appended across runs. A JSON line (what the services write) is kept
verbatim; any other line (Postgres, Valkey, a crash's traceback) becomes a JSON record
with the process, level `unknown` and the time the runner read it, so every line of every
file has one shape and a time to merge by.

The child's output path must not wait for a disk: `add` only appends to a deque (thread
safe; ~0.4 µs with its checks); one writer thread drains it every FLUSH_SECONDS, writes
each file's batch at once and rotates. A line therefore reaches its file within about
FLUSH_SECONDS. Should the disk stall so long that MAX_PENDING lines wait, further lines
are dropped (and their number written to mosaic.log) rather than growing the runner's
memory without bound. Measured in docs/performance.md ("What keeping the logs costs").

Sizes: a canonical request line is ~300 bytes. The busiest process at the shop's measured
peak (catalog: five requests per product page, 104 pages/s, docs/performance.md) writes
~500 lines/s, ~150 KB/s: FILE_BYTES = 16 MiB holds ~2 minutes of that, and days of a
developer clicking around; KEEP = 2 rotated files beside it, so one process holds at most
48 MiB. TOTAL_BYTES = 256 MiB bounds the folder however many instances
(replicas, old runs, jobs) wrote to it: past it (looked at on each rotation and every few
seconds), the oldest files not being written are deleted. The files being written are
never deleted, so the folder holds at most max(TOTAL_BYTES, FILE_BYTES per process).
The stdlib's RotatingFileHandler was not used: it flushes every record (a system call per
line) and knows nothing of a total across files.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

FILE_BYTES = 16 << 20
KEEP = 2
TOTAL_BYTES = 256 << 20
FLUSH_SECONDS = 0.1
BOUND_SECONDS = 5.0  # how often the total is looked at, besides at each rotation
MAX_PENDING = 200_000  # lines waiting for the writer: ~60 MB at most
SUFFIX = ".log"


def logs_folder(home: Path) -> Path:
    return home / "logs"


def log_files(folder: Path) -> dict[str, list[Path]]:
    """Each process's files in `folder`, oldest first (`x.log.2`, `x.log.1`, `x.log`)."""
    found: dict[str, list[tuple[int, Path]]] = {}
    for path in folder.glob(f"*{SUFFIX}*") if folder.is_dir() else ():
        name, dot_log, rotation = path.name.rpartition(SUFFIX)
        rotated = rotation[:1] == "." and rotation[1:].isdigit()
        if not (name and dot_log) or (rotation and not rotated):
            continue
        age = int(rotation[1:]) if rotation else 0
        found.setdefault(name, []).append((age, path))
    return {name: [p for _, p in sorted(files, reverse=True)] for name, files in found.items()}


def wrap(process: str, text: str, when: float) -> str:
    """A non-JSON line as one JSON record, stamped with the time the runner read it."""
    stamp = datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")
    record = {
        "timestamp": stamp.replace("+00:00", "Z"),
        "level": "unknown",
        "event": text,
        "service": process.split(".", 1)[0],
        "process": process,
    }
    return json.dumps(record, ensure_ascii=False)


def is_json(text: str) -> bool:
    """Whether a line is kept as it is or wrapped. Shape only, no parse (~10 µs a line):
    the reader copes with a line that is not."""
    return text[:1] == "{" and text[-1:] == "}"


class LogFiles:
    """The writer: `add` from the event loop, `close` once at the end."""

    def __init__(
        self,
        folder: Path,
        *,
        file_bytes: int = FILE_BYTES,
        keep: int = KEEP,
        total_bytes: int = TOTAL_BYTES,
        flush_seconds: float = FLUSH_SECONDS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.folder = folder
        self.file_bytes, self.keep, self.total_bytes = file_bytes, keep, total_bytes
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.dropped = 0
        self._pending: deque[tuple[str, str, float]] = deque()
        self._open: dict[str, BinaryIO] = {}
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, process: str, text: str) -> None:
        """Queue one line of `process`; never blocks."""
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        self._pending.append((process, text, time.time()))
        if self._thread is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._thread = threading.Thread(target=self._run, name="log-files", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Write what is pending, then close every file."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for file in self._open.values():
            file.close()
        self._open.clear()
        self._closing.clear()

    def _run(self) -> None:
        bounded = time.monotonic()
        while not self._closing.wait(self.flush_seconds):
            self._write_pending()
            if time.monotonic() - bounded > BOUND_SECONDS:
                self._bound_total()
                bounded = time.monotonic()
        self._write_pending()
        self._bound_total()

    def _write_pending(self) -> None:
        # The hot loop of the writer thread (~1 µs a line): it holds the GIL meanwhile.
        pending, batches = self._pending, dict[str, list[str]]()
        for _ in range(len(pending)):
            process, text, when = pending.popleft()
            batch = batches.get(process)
            if batch is None:
                batch = batches[process] = []
            batch.append(text if is_json(text) else wrap(process, text, when))
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            note = f"{dropped} lines were dropped: the log files could not keep up"
            batches.setdefault("mosaic", []).append(wrap("mosaic", note, time.time()))
        for process, lines in batches.items():
            # A full or read-only disk must not stop the shop; the terminal still has it.
            with contextlib.suppress(OSError):
                self._append(process, "\n".join(lines) + "\n")

    def _append(self, process: str, text: str) -> None:
        data = text.encode("utf-8", "replace")
        file = self._open.get(process)
        if file is not None and file.tell() and file.tell() + len(data) > self.file_bytes:
            file.close()
            self._rotate(process)
            file = None
        if file is None:  # kept open across batches; closed by close()
            path = self.folder / f"{process}{SUFFIX}"
            file = self._open[process] = path.open("ab")
        file.write(data)
        file.flush()

    def _rotate(self, process: str) -> None:
        """x.log -> x.log.1 -> ... -> x.log.KEEP (the oldest dropped), then the total."""
        base = self.folder / f"{process}{SUFFIX}"
        (self.folder / f"{base.name}.{self.keep}").unlink(missing_ok=True)
        for age in range(self.keep - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / f"{base.name}.{age}").replace(self.folder / f"{base.name}.{age + 1}")
        if self.keep:
            base.replace(self.folder / f"{base.name}.1")
        else:
            base.unlink()
        self._bound_total()

    def _bound_total(self) -> None:
        """Delete the oldest files not being written until the folder fits TOTAL_BYTES."""
        writing = {self.folder / f"{process}{SUFFIX}" for process in self._open}
        files = [p for paths in log_files(self.folder).values() for p in paths]
        sizes = {}
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                sizes[path] = path.stat()
        total = sum(s.st_size for s in sizes.values())
        for path in sorted(sizes, key=lambda p: sizes[p].st_mtime):
            if total <= self.total_bytes:
                return
            if path not in writing:
                path.unlink(missing_ok=True)
                total -= sizes[path].st_size
