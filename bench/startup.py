"""What `mosaic up` costs: seconds to the ready line (cold and warm) and RSS per process.

Run: .venv/bin/python bench/startup.py [--runs 3] [--scale catalog=2 ...]
     [--variant before=GITREF --variant after]
Cold = a new empty $MOSAIC_HOME (initdb, provisioning, migrations and seed included);
warm = `up` again on the same home. Packages are already installed (the ./mosaic bootstrap).
With variants (as in bench/pages.py: `LABEL=GITREF` runs the files of that commit, `LABEL`
alone the working tree) each run starts every variant in turn, cold then warm, so the
variants share the machine's state of the moment. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
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
) -> tuple[float, dict[str, float]]:
    started = time.monotonic()
    with UpProcess(home, free_port(), *extra, extra_env=env) as up:
        up.wait_ready(timeout=120)
        took = time.monotonic() - started
        time.sleep(2)  # let start-up garbage settle before reading memory
        rss = {}
        for name, info in up.processes().items():
            try:
                proc = psutil.Process(info["pid"])
                total = proc.memory_info().rss
                if name == "postgres":  # its backends are separate processes
                    total += sum(c.memory_info().rss for c in proc.children(recursive=True))
                rss[name] = total / 2**20
            except psutil.NoSuchProcess:
                continue
        runner = psutil.Process(up.process.pid if up.process else 0)
        rss["mosaic up (runner)"] = runner.memory_info().rss / 2**20
        assert up.stop() == 0, up.output_tail()
    return took, rss


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
    rss: dict[str, dict[str, float]] = {}
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
        memory = Table(title=f"RSS per process after a warm start (MiB), {label}")
        memory.add_column("process")
        memory.add_column("RSS")
        for name, mib in sorted(rss[label].items()):
            memory.add_row(name, f"{mib:.0f}")
        memory.add_row("total", f"{sum(rss[label].values()):.0f}")
        console.print(memory)


if __name__ == "__main__":
    main()
