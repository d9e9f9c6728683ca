"""The shop's own CPU time and memory, from its processes, sampled while it runs.

Whose CPU counts: every process `mosaic up` lists in its state (each service's processes,
Postgres, Valkey) with all their descendants (Postgres' backends, a shell's child). Not the
runner itself, nor its scheduled jobs, nor the load generator, nor this command.

A sample sums, per service, user + system time of each live process *plus* the time of its
children that have exited and been waited for (children_user/children_system): when a
Postgres backend exits, its time moves into the postmaster's figures instead of vanishing,
so the sum only grows, and the CPU of a window is end - start, interpolated between samples
at the load generator's own window edges.
"""

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from mosaic.state import read_state

BACKING_PROCESS = "server"  # the `process` of Postgres and Valkey in the state


@dataclass(frozen=True)
class Root:
    """One process `mosaic up` lists."""

    service: str
    pid: int
    backing: bool


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    cpu: Mapping[str, float]  # service -> cumulative CPU seconds
    rss: Mapping[str, int]  # service -> bytes, summed over its processes
    backing: frozenset[str]  # which services are backing servers
    pss: Mapping[str, int] | None = None  # proportional set size, when asked for (slower)
    machine: float | None = None  # CPU seconds all of the machine's cores were busy so far


def roots_of(state: Mapping[str, Any] | None) -> list[Root]:
    roots = []
    for entry in (state or {}).get("processes", []):
        pid = entry.get("pid")
        if isinstance(pid, int) and entry.get("state") != "stopped":
            service = str(entry.get("service") or entry.get("name"))
            roots.append(Root(service, pid, entry.get("process") == BACKING_PROCESS))
    return roots


def take_sample(
    roots: Iterable[Root], at: float | None = None, proportional: bool = False
) -> Sample:
    stats = _read_stats()
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    cpu: dict[str, float] = {}
    rss: dict[str, int] = {}
    pss: dict[str, int] = {}
    backing = set()
    for root in roots:
        if root.backing:
            backing.add(root.service)
        tree, pending = [], [root.pid]
        while pending:
            pid = pending.pop()
            if pid in stats:
                tree.append(pid)
                pending.extend(children.get(pid, ()))
        for pid in tree:
            cpu[root.service] = cpu.get(root.service, 0.0) + stats[pid].cpu
            rss[root.service] = rss.get(root.service, 0) + stats[pid].rss
            if proportional:
                pss[root.service] = pss.get(root.service, 0) + _pss(pid, stats[pid].rss)
    stamp = time.time() if at is None else at
    shares = pss if proportional else None
    return Sample(stamp, cpu, rss, frozenset(backing), shares, _machine_busy())


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine (every process, ours or not) since boot: on a
    shared machine, how much of it the shop under test did not have. Not idle, not waiting
    for I/O; guest time is already in user (and guest_nice in nice) on Linux."""
    times = psutil.cpu_times()
    waiting = ("idle", "iowait", "guest", "guest_nice")
    return float(sum(times) - sum(getattr(times, f, 0.0) for f in waiting))


@dataclass(frozen=True)
class _Stat:
    ppid: int
    cpu: float  # user + system, own and of waited-for children, in seconds
    rss: int  # bytes


def _read_stats() -> dict[int, _Stat]:
    """Every process's parent, CPU time and RSS, from one read of /proc/PID/stat each.

    psutil's process_iter() and Process objects cost ~25 ms of CPU per pass over ~200
    processes here; four passes a second would take CPU from the shop being measured.
    Where there is no /proc, psutil does it.
    """
    if not _PROC.is_dir():
        return _psutil_stats()
    stats = {}
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as file:  # noqa: PTH123
                text = file.read()
        except OSError:
            continue  # exited meanwhile: its time is in its parent's children figures
        fields = text[text.rindex(b")") + 2 :].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        stats[int(entry.name)] = _Stat(int(fields[1]), ticks / _TICKS, int(fields[21]) * _PAGE)
    return stats


def _psutil_stats() -> dict[int, _Stat]:
    stats = {}
    for process in psutil.process_iter(["ppid", "cpu_times", "memory_info"]):
        times, memory = process.info["cpu_times"], process.info["memory_info"]
        if times is None or memory is None:
            continue
        spent = times.user + times.system + times.children_user + times.children_system
        stats[process.pid] = _Stat(process.info["ppid"], spent, memory.rss)
    return stats


_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _pss(pid: int, rss: int) -> int:
    try:
        return int(psutil.Process(pid).memory_full_info().pss)
    except (psutil.Error, AttributeError):
        return rss  # gone, or no smaps here: its RSS is the upper bound


def cpu_at(samples: list[Sample], at: float) -> dict[str, float]:
    """Cumulative CPU per service at time `at`, linear between the samples around it."""
    if not samples:
        return {}
    times = [s.at for s in samples]
    i = bisect.bisect_left(times, at)
    if i == 0:
        return dict(samples[0].cpu)
    if i == len(samples):
        return dict(samples[-1].cpu)
    before, after = samples[i - 1], samples[i]
    share = (at - before.at) / (after.at - before.at) if after.at > before.at else 1.0
    services = set(before.cpu) | set(after.cpu)
    return {
        s: before.cpu.get(s, 0.0) + share * (after.cpu.get(s, 0.0) - before.cpu.get(s, 0.0))
        for s in services
    }


@dataclass(frozen=True)
class CpuCost:
    """CPU seconds the shop spent in a window, per service, and what they cost a request."""

    per_service: dict[str, float]
    backing: frozenset[str]
    seconds: float  # the window's length
    machine: float | None = None  # busy CPU seconds of the whole machine in the window

    @property
    def services(self) -> float:
        return sum(v for k, v in self.per_service.items() if k not in self.backing)

    @property
    def total(self) -> float:
        return sum(self.per_service.values())

    def per_request(self, requests: int) -> dict[str, float | None]:
        if requests <= 0:
            return {"services": None, "with_backing": None}
        return {"services": self.services / requests, "with_backing": self.total / requests}

    def as_json(self, requests: int) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "services": self.services,
            "with_backing": self.total,
            "per_service": dict(sorted(self.per_service.items())),
            "cores_busy": self.total / self.seconds if self.seconds > 0 else None,
            "machine_cores_busy": self.machine / self.seconds
            if self.machine is not None and self.seconds > 0
            else None,
            "per_request": self.per_request(requests),
        }


def cpu_between(samples: list[Sample], start: float, end: float) -> CpuCost:
    first, last = cpu_at(samples, start), cpu_at(samples, end)
    per_service = {
        s: max(0.0, last.get(s, 0.0) - first.get(s, 0.0)) for s in set(last) | set(first)
    }
    backing = frozenset().union(*(s.backing for s in samples)) if samples else frozenset()
    machine = [s for s in samples if s.machine is not None]
    busy = None
    if machine:
        busy = max(0.0, _machine_at(machine, end) - _machine_at(machine, start))
    return CpuCost(per_service, backing, max(0.0, end - start), busy)


def _machine_at(samples: list[Sample], at: float) -> float:
    wrapped = [Sample(s.at, {"": s.machine or 0.0}, {}, frozenset()) for s in samples]
    return cpu_at(wrapped, at).get("", 0.0)


@dataclass
class Sampler:
    """Samples the shop's processes every `interval` seconds in a thread, while started.

    The pids come from the state file of `home` (read at every sample, so a restarted
    process is followed), or from a fixed list of roots (tests, or a shop without state).
    """

    home: Path | None
    interval: float = 0.25
    roots: Callable[[], list[Root]] | None = None
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current_roots(self) -> list[Root]:
        if self.roots is not None:
            return self.roots()
        return roots_of(read_state(self.home)) if self.home is not None else []

    def sample(self, proportional: bool = False) -> Sample:
        taken = take_sample(self.current_roots(), proportional=proportional)
        with self._lock:
            self.samples.append(taken)
        return taken

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def between(self, start: float, end: float) -> CpuCost:
        with self._lock:
            samples = list(self.samples)
        return cpu_between(samples, start, end)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
