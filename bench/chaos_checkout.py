"""Issue 11's chaos run: checkouts under load while processes are SIGKILLed, then every
order checked across orders, payments, shipping and the mailbox, and every shopper's
answer against how their order ended.

Run: .venv/bin/python bench/chaos_checkout.py --duration 80 --shoppers 8 --out chaos.json
Starts its own shop (`mosaic up` on a temporary MOSAIC_HOME and a free port); guests
check out through the real pages with 70 % good cards, 15 % declined, 15 % processor
timeouts; orders' web process is killed --orders-kills times and payments, shipping and
the orders relay once each, spread over the run; the runner restarts them. Writes the
counts and every violation to --out, prints a summary, and exits 1 on any violation.
The rules are in libs/testing-support/src/mosaic_testing/chaos/checks.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from mosaic.ports import free_port
from mosaic_testing import FAST_REDELIVERY, UpProcess
from mosaic_testing.chaos import Result, run, schedule
from rich.console import Console
from rich.table import Table

console = Console()
ONCE_EACH = ("payments.web.1", "shipping.web.1", "orders.relay.1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=80, help="seconds of load")
    parser.add_argument("--shoppers", type=int, default=8, help="shoppers at once")
    parser.add_argument("--orders-kills", type=int, default=3, help="SIGKILLs of orders.web.1")
    parser.add_argument("--out", type=Path, default=Path("chaos.json"), help="results file")
    args = parser.parse_args()
    if args.duration <= 0 or args.shoppers <= 0 or args.orders_kills < 0:
        parser.error("--duration and --shoppers must be positive, --orders-kills at least 0")

    def say(line: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", highlight=False)

    with tempfile.TemporaryDirectory(prefix="mosaic-chaos-") as tmp:
        port = free_port()
        say(f"starting the shop: home {tmp}/home, port {port}")
        with UpProcess(Path(tmp) / "home", port, extra_env=FAST_REDELIVERY) as up:
            up.wait_ready(timeout=240)
            kills = schedule(args.orders_kills, ONCE_EACH)
            say(
                f"{args.shoppers} shoppers for {args.duration:g} s; kills: "
                + ", ".join(f"{k.process} at {k.at * args.duration:.0f} s" for k in kills)
            )
            result = run(up, f"http://127.0.0.1:{port}", duration=args.duration,
                         shoppers=args.shoppers, kills=kills, say=say)  # fmt: skip
    args.out.write_text(json.dumps(result.as_json(), indent=2) + "\n")
    show(result)
    say(f"written to {args.out}")
    return 1 if result.violations else 0


def show(result: Result) -> None:
    table = Table(title=f"{result.checkouts} checkouts, {result.orders} orders")
    table.add_column("card")
    table.add_column("last said / order ended")
    table.add_column("checkouts", justify="right")
    for card, ends in sorted(result.by_card.items()):
        for end, count in sorted(ends.items()):
            table.add_row(card, end, str(count))
    console.print(table)
    console.print(f"first answers: {result.said}; orders ended: {result.ended}; "
                  f"shoppers short of a page: {result.setup_failures}")  # fmt: skip
    for kill in result.kills:
        console.print(f"killed {kill.process} at {kill.at} s, back after {kill.back_after} s")
    if not result.violations:
        console.print("[green]no violation[/]")
    for violation in result.violations[:40]:
        console.print(f"[red]{violation.rule}[/] {violation.email} {violation.order_id}: "
                      f"{violation.detail}", highlight=False)  # fmt: skip
    if len(result.violations) > 40:
        console.print(f"... and {len(result.violations) - 40} more in the results file")


if __name__ == "__main__":
    sys.exit(main())
