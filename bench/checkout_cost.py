"""CPU per checkout through the whole shop, by process: a before/after probe for checkout work.

Run: .venv/bin/python bench/checkout_cost.py --variant before=2afb35d --variant after
     [--users 4] [--seconds 15] [--rounds 3] [--rate 30]

Each variant is a `mosaic up` on its own new $MOSAIC_HOME, started as bench/pages.py starts
them (`before=REF` runs the files of git REF). A round runs loadgen's checkout flow
(`python -m loadgen run --flow checkout`: the checkout page, Place order with card 4242…,
the order's page, which must say confirmed) against each variant in turn, the order
alternating between rounds. CPU per checkout is the user + system CPU-seconds of every
process of the variant (Postgres with its backends) from the generator's start until 2 s
after it ends (the e-mail is sent after the order's page is shown), less what the same
processes spent idle at the rate measured in the 3 s before, divided by the checkouts
completed. It includes the step loadgen takes before each checkout, outside its
timed action (adding a product from the cart page): the same for every variant.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pages import Variant, console, cpu_seconds, parse_variant, started
from rich.table import Table

SETTLE = 2.0  # seconds after the generator ends: the last orders' e-mails go out
IDLE = 3.0  # seconds of the idle shop measured before each run, its rate taken off


def one_run(variant: Variant, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "loadgen", "run", "--host", variant.url]
    command += ["--flow", "checkout", "--users", str(args.users)]
    command += ["--duration", str(args.seconds), "--out", str(out)]
    if args.rate:
        command += ["--rate", str(args.rate)]
    idle_from, idle_began = cpu_seconds(variant.pids), time.monotonic()
    time.sleep(IDLE)
    before, began = cpu_seconds(variant.pids), time.monotonic()
    idle_rate = {n: (before[n] - idle_from[n]) / (began - idle_began) for n in idle_from}
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    time.sleep(SETTLE)
    after, took = cpu_seconds(variant.pids), time.monotonic() - began
    flow = json.loads(out.read_text())["flows"]["checkout"]
    done = max(flow["requests"], 1)
    # What the shop spends idle (relays and workers polling, health checks) is taken off:
    # on a loaded machine few checkouts fit in a window, and idle CPU would swamp them.
    by_process = {
        n: (after[n] - before[n] - idle_rate.get(n, 0.0) * took) * 1000 / done
        for n in after
        if n in before
    }
    return {
        "variant": variant.label,
        "checkouts": flow["requests"],
        "failures": flow["failures"] + flow["dropped"],
        "rps": flow["rps"],
        "p50_ms": flow.get("p50_ms"),
        "p95_ms": flow.get("p95_ms"),
        "cpu_ms": sum(by_process.values()),
        "by_process": by_process,
        "load": os.getloadavg()[0],
    }


def report(runs: list[dict[str, Any]], variants: list[Variant]) -> None:
    table = Table(title="CPU ms per checkout (medians over rounds)")
    table.add_column("process")
    names = sorted({n for r in runs for n in r["by_process"]})
    rows: list[list[str]] = [[n.removesuffix(".web.1")] for n in [*names, "total", "/s", "p95"]]
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant.label]
        table.add_column(variant.label, justify="right")
        for row, name in zip(rows, names, strict=False):
            row.append(f"{statistics.median(r['by_process'].get(name, 0.0) for r in mine):.2f}")
        rows[-3].append(f"{statistics.median(r['cpu_ms'] for r in mine):.1f}")
        rows[-2].append(f"{statistics.median(r['rps'] for r in mine):.1f}")
        rows[-1].append(f"{statistics.median(r['p95_ms'] or 0 for r in mine):.0f}")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--variant", action="append", default=[], help="as bench/pages.py")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, help="open loop: checkouts offered per second")
    parser.add_argument("--out", type=Path, help="write every run as JSON here")
    args = parser.parse_args()
    variants = [parse_variant(v) for v in args.variant] or [Variant("current", None)]
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mosaic-checkout-") as tmp,
        started(variants, Path(tmp)),
    ):
        for round_no in range(1, args.rounds + 1):
            for variant in variants if round_no % 2 else list(reversed(variants)):
                run = one_run(variant, args, Path(tmp) / f"{variant.label}-{round_no}.json")
                runs.append(run)
                console.print(
                    f"round {round_no} {variant.label:<8} {run['checkouts']} checkouts"
                    f" {run['rps']:.1f}/s p95 {run['p95_ms'] or 0:.0f} ms"
                    f" CPU {run['cpu_ms']:.1f} ms/checkout failed {run['failures']}"
                    f" (load {run['load']:.1f})"
                )
    report(runs, variants)
    if args.out:
        args.out.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
