"""What each process needs, idle and under load: the figures behind the Kubernetes requests
and limits (deploy/k8s/base, `mosaic.kubernetes_pods`).

Run: .venv/bin/python bench/pod_sizing.py [--users 8] [--idle 20] [--load 40]

Starts `mosaic up` on a new temporary home, reads every service process's CPU time and RSS
from /proc once a second, first idle, then while the load generator runs the shop's mix
(`python -m loadgen run --flow mix`, signed-in shoppers confirming through the dev
mailbox). Per process: RSS idle and at its peak, CPU in millicores idle and under load
(mean over the phase, and the busiest second). Postgres and Valkey are left out: in a
cluster they are Cloud SQL, Memorystore or the dev overlay's servers, sized apart.
Figures go to docs/performance.md ("What a pod needs").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from mosaic.ports import free_port
from mosaic_testing import UpProcess
from rich.console import Console
from rich.table import Table

console = Console()
SERVERS = {"postgres", "valkey", "mailbox"}


@dataclass
class Samples:
    """One process's readings of one phase: CPU millicores per second, RSS in MiB."""

    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)


def sample(processes: dict[str, psutil.Process], seconds: float) -> dict[str, Samples]:
    found = {name: Samples() for name in processes}
    last = {name: _cpu(p) for name, p in processes.items()}
    stamp = time.monotonic()
    deadline = stamp + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        now = time.monotonic()
        for name, proc in processes.items():
            try:
                cpu, rss = _cpu(proc), proc.memory_info().rss / 2**20
            except psutil.NoSuchProcess:  # restarted: its readings stop here
                continue
            found[name].cpu.append(1000 * (cpu - last[name]) / (now - stamp))
            found[name].rss.append(rss)
            last[name] = cpu
        stamp = now
    return found


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8, help="shoppers of the load phase")
    parser.add_argument("--idle", type=float, default=20, help="seconds of the idle phase")
    parser.add_argument("--load", type=float, default=40, help="seconds of the load phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mosaic-sizing-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        with UpProcess(home, free_port()) as up:
            url = up.wait_ready(timeout=180)
            mailbox = up.status().get("mailbox")
            processes = {
                name: psutil.Process(info["pid"])
                for name, info in up.processes().items()
                if name not in SERVERS and info.get("pid")
            }
            console.print(f"idle for {args.idle:.0f} s ...")
            idle = sample(processes, args.idle)
            console.print(f"the mix with {args.users} shoppers for {args.load:.0f} s ...")
            result = Path(tmp) / "load.json"
            load_run = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "loadgen", "run", "--host", url, "--mailbox", str(mailbox)),
                    *("--flow", "mix", "--users", str(args.users)),
                    *("--duration", str(int(args.load)), "--out", str(result)),
                ],
                stdout=subprocess.DEVNULL,
            )
            loaded = sample(processes, args.load)
            load_run.wait(timeout=args.load + 60)
            done = json.loads(result.read_text())
            assert up.stop() == 0, up.output_tail()
    _report(idle, loaded, done, args.users)


def _report(
    idle: dict[str, Samples], loaded: dict[str, Samples], done: dict[str, object], users: int
) -> None:
    table = Table(title=f"per process: idle, then the mix with {users} shoppers")
    for column in (
        "process",
        "RSS idle MiB",
        "RSS peak MiB",
        "CPU idle m",
        "CPU load m",
        "busiest s m",
    ):
        table.add_column(column, justify="right" if column != "process" else "left")
    for name in sorted(idle):
        calm, busy = idle[name], loaded[name]
        if not busy.cpu:
            continue
        table.add_row(
            name,
            f"{statistics.median(calm.rss):.0f}",
            f"{max(busy.rss):.0f}",
            f"{statistics.mean(calm.cpu):.0f}",
            f"{statistics.mean(busy.cpu):.0f}",
            f"{max(busy.cpu):.0f}",
        )
    console.print(table)
    total: dict[str, object] = done["total"]  # type: ignore[assignment]
    figures = {k: total.get(k) for k in ("requests", "failures", "rps", "p95_ms")}
    console.print(f"load generator (every flow of the mix): {figures}")


if __name__ == "__main__":
    main()
