"""The price of seeing (issue 14 item 7): `mosaic bench`'s flows on shops that differ only
in their tracing settings, rounds interleaved, CPU per action compared.

Run: .venv/bin/python bench/seeing_cost.py [--rounds 5] [--flow checkout --flow browse]
     [--variant off,OTEL_SDK_DISABLED=true --variant r0,OTEL_TRACES_SAMPLER_ARG=0 --variant default]

Each variant is a `mosaic up` on its own new $MOSAIC_HOME (pages.py's variants: LABEL[=GITREF]
[,VAR=VALUE...], the settings go into the runner's environment and from it to every process),
all started first. Then, round after round, `mosaic bench --home` on each variant in turn
(the order rotating every round, so none is always first or last), each a short closed loop
of every flow. The figure is `mosaic bench`'s own: the shop's CPU (services, and with
Postgres and Valkey) per action over the measured window. Medians over rounds, and each
variant against the first.

Also the runner's CPU per action (`mosaic up` itself: it receives the spans, keeps the
traces, scrapes /metrics for the dashboard), which `mosaic bench` does not count as the
shop's: what a collector would cost elsewhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from pages import Variant, console, parse_variant, started
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VARIANTS = ("off,OTEL_SDK_DISABLED=true", "r0,OTEL_TRACES_SAMPLER_ARG=0", "default")


def runner_cpu(variant: Variant) -> float:
    assert variant.up is not None and variant.up.process is not None
    times = psutil.Process(variant.up.process.pid).cpu_times()
    return float(times.user + times.system)


def bench_once(variant: Variant, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """One `mosaic bench --home` run on a variant's shop; its closed-loop rows by flow."""
    assert variant.up is not None
    flows = [arg for flow in args.flow for arg in ("--flow", flow)]
    home = variant.up.env["MOSAIC_HOME"]
    argv = [sys.executable, "-m", "mosaic", "bench", "--home", home, *flows]
    argv += ["--warmup", str(args.warmup), "--closed", str(args.closed)]
    argv += ["--users", str(args.users), "--steps", "1", "--step", "1", "--out", str(out)]
    runner_before = runner_cpu(variant)
    finished = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"mosaic bench failed on {variant.label}:\n{finished.stdout[-2000:]}")
    results = json.loads((out / "results.json").read_text())
    closed = results["modes"]["microservices"]["closed"]
    runner = runner_cpu(variant) - runner_before
    return {
        flow: {
            "services": row["cpu"]["per_request"]["services"] * 1000,
            "with_backing": row["cpu"]["per_request"]["with_backing"] * 1000,
            "rps": row["rps"],
            "p50_ms": row["p50_ms"],
            "failures": row["failures"],
            "runner_seconds": runner,  # the runner's CPU over the whole `mosaic bench` run
        }
        for flow, row in closed.items()
    }


def report(rows: list[dict[str, Any]], variants: list[Variant], flows: list[str]) -> None:
    table = Table(title="CPU ms per action (mosaic bench, closed loop): medians over rounds")
    for column in ("flow", "variant", "services", "+backing", "vs first", "rounds", "runner s"):
        table.add_column(column, justify="left" if column in {"flow", "variant"} else "right")
    for flow in flows:
        first: float | None = None
        for variant in variants:
            mine = [r[flow] for r in rows if r["variant"] == variant.label]
            services = statistics.median(m["services"] for m in mine)
            first = services if first is None else first
            table.add_row(
                flow,
                variant.label,
                f"{services:.2f}",
                f"{statistics.median(m['with_backing'] for m in mine):.2f}",
                f"{(services / first - 1) * 100:+.1f} %",
                " ".join(f"{m['services']:.1f}" for m in mine),
                f"{statistics.median(m['runner_seconds'] for m in mine):.2f}",
            )
    console.print(table)
    console.print(
        "runner s: the runner's CPU seconds over each whole `mosaic bench` run (idle,"
        " warm-up and every flow included), not counted in the columns before it."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]) if __doc__ else None,
    )
    parser.add_argument("--variant", action="append", default=[], help="as pages.py's")
    parser.add_argument("--flow", action="append", help="loadgen's flows (default: checkout)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--closed", type=float, default=10.0, help="measured seconds per flow")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--out", type=Path, help="write every run's figures as JSON here")
    args = parser.parse_args()
    args.flow = args.flow or ["checkout"]
    variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    if len({v.label for v in variants}) != len(variants):
        parser.error("variant labels must differ")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mosaic-seeing-") as tmp, started(variants, Path(tmp)):
        order = list(variants)
        for round_no in range(1, args.rounds + 1):
            for variant in order:
                began = time.monotonic()
                run = bench_once(variant, args, Path(tmp) / f"bench-{variant.label}-{round_no}")
                rows.append({"variant": variant.label, "round": round_no, **run})
                figures = "  ".join(f"{f} {run[f]['services']:.2f}" for f in args.flow)
                console.print(
                    f"round {round_no} {variant.label:<10} {figures} ms/action"
                    f" ({time.monotonic() - began:.0f} s, load {psutil.getloadavg()[0]:.1f})"
                )
            order = order[1:] + order[:1]
    report(rows, variants, args.flow)
    if args.out:
        args.out.write_text(json.dumps({"argv": sys.argv[1:], "runs": rows}, indent=2))
        console.print(f"results: {args.out}")


if __name__ == "__main__":
    main()
