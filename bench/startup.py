"""What `mosaic up` costs: seconds to the ready line (cold and warm) and RSS per process.

Run: .venv/bin/python bench/startup.py [--runs 3] [--scale catalog=2 ...]
     [--variant before=GITREF --variant after]
Cold = a new empty $MOSAIC_HOME (initdb, provisioning, migrations and seed included);
warm = `up` again on the same home. Packages are already installed (the ./mosaic bootstrap).
Memory is read 3 s after the warm start's ready line: RSS and PSS of every process, each
Postgres backend and helper on its own row (RSS counts shared pages in every process that
maps them, so its sum over-counts; PSS divides them among their users).
With variants (as in bench/pages.py: `LABEL=GITREF` runs the files of that commit, `LABEL`
alone the working tree) each run starts every variant in turn, cold then warm, so the
variants share the machine's state of the moment. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import psutil
from mosaic.ports import free_port
from mosaic_testing import UpProcess
from pages import export_tree, tree_env
from rich.console import Console
from rich.table import Table

console = Console()


def one_run(
    home: Path, extra: list[str], env: dict[str, str] | None = None
) -> tuple[float, dict[str, tuple[float, float]]]:
    """Seconds to the ready line; then (RSS, PSS) in MiB per process, 3 s after it."""
    started = time.monotonic()
    with UpProcess(home, free_port(), *extra, extra_env=env) as up:
        up.wait_ready(timeout=120)
        took = time.monotonic() - started
        time.sleep(3)  # let start-up garbage settle before reading memory
        memory: dict[str, tuple[float, float]] = {}
        for name, info in up.processes().items():
            try:
                proc = psutil.Process(info["pid"])
                # Postgres' backends and helpers are its children: each is a row.
                family = [proc, *proc.children(recursive=True)] if name == "postgres" else [proc]
                for number, member in enumerate(family):
                    label = name if number == 0 else f"postgres: {_postgres_role(member)}"
                    memory[_unique(memory, label)] = _rss_pss(member)
            except psutil.NoSuchProcess:
                continue
        runner = psutil.Process(up.process.pid if up.process else 0)
        memory["mosaic up (runner)"] = _rss_pss(runner)
        assert up.stop() == 0, up.output_tail()
    return took, memory


def _rss_pss(process: psutil.Process) -> tuple[float, float]:
    info = process.memory_full_info()  # PSS: shared pages divided among their users
    return info.rss / 2**20, info.pss / 2**20


def _postgres_role(process: psutil.Process) -> str:
    """`postgres: checkpointer`, `postgres: catalog catalog 127.0.0.1(...) idle` -> its role."""
    title = " ".join(process.cmdline()).removeprefix("postgres: ")
    return title.split(" 127.0.0.1")[0].split(" (")[0] or "?"


def _unique(taken: Mapping[str, object], label: str) -> str:
    number = 1
    while (f"{label} #{number}" if number > 1 else label) in taken:
        number += 1
    return f"{label} #{number}" if number > 1 else label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold and warm runs each")
    parser.add_argument("--scale", action="append", default=[], help="passed to mosaic up")
    parser.add_argument(
        "--variant", action="append", default=[], help="LABEL or LABEL=GITREF (repeatable)"
    )
    args = parser.parse_args()
    extra = [f"--scale={s}" for s in args.scale]
    variants = [v.partition("=")[::2] for v in args.variant] or [("current", "")]
    cold: dict[str, list[float]] = {label: [] for label, _ in variants}
    warm: dict[str, list[float]] = {label: [] for label, _ in variants}
    rss: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="mosaic-startup-trees-") as trees:
        envs = {
            label: tree_env(export_tree(ref, Path(trees))) if ref else {} for label, ref in variants
        }
        for run in range(args.runs):
            order = variants if run % 2 == 0 else variants[::-1]
            for label, _ in order:
                with tempfile.TemporaryDirectory(prefix="mosaic-bench-") as tmp:
                    home = Path(tmp) / "home"
                    home.mkdir()
                    console.print(f"run {run + 1}/{args.runs} {label}: cold ...")
                    took, _ = one_run(home, extra, envs[label])
                    cold[label].append(took)
                    console.print(f"  {took:.1f} s; warm ...")
                    took, rss[label] = one_run(home, extra, envs[label])
                    warm[label].append(took)
                    console.print(f"  {took:.1f} s")
    table = Table(title="mosaic up: seconds to the ready line")
    for column in ("variant", "start", "median", "min", "max", "runs"):
        table.add_column(column)
    for label, _ in variants:
        for kind, values in (("cold", cold[label]), ("warm", warm[label])):
            table.add_row(
                label,
                kind,
                f"{statistics.median(values):.1f}",
                f"{min(values):.1f}",
                f"{max(values):.1f}",
                " ".join(f"{v:.1f}" for v in values),
            )
    console.print(table)
    for label, _ in variants:
        memory = Table(title=f"memory per process 3 s after a warm start (MiB), {label}")
        for column in ("process", "RSS", "PSS"):
            memory.add_column(column)
        for name, (rss_mib, pss_mib) in sorted(rss[label].items()):
            memory.add_row(name, f"{rss_mib:.0f}", f"{pss_mib:.0f}")
        totals = [sum(values) for values in zip(*rss[label].values(), strict=True)]
        memory.add_row("total", *(f"{total:.0f}" for total in totals))
        shop = [v for name, v in rss[label].items() if name != "mosaic up (runner)"]
        memory.add_row(
            "the shop (without the runner)", *(f"{sum(v):.0f}" for v in zip(*shop, strict=True))
        )
        console.print(memory)


if __name__ == "__main__":
    main()
