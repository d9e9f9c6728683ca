"""`python -m loadgen run ...`: one headless load run against a shop, bounded in users,
rate and time. Progress as JSON lines on stdout (one a second), the result as JSON in --out.

Exit codes: 0 the run completed (even with failures), 2 bad arguments, 1 the shop could not
be reached at all, 130 interrupted (Ctrl-C). SIGUSR1 ends the measured window early, with
a result (driver.py).
"""

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from loadgen.flows import MIX, SINGLE_FLOWS

MAX_USERS = 1000
MAX_RATE = 5000.0
MAX_DURATION = 3600.0
MAX_WARMUP = 600.0


@dataclass(frozen=True)
class Plan:
    """One run, as asked for on the command line."""

    host: str
    flow: str
    users: int
    duration: float
    rate: float | None  # None: closed loop
    warmup: float
    seed: int
    out: Path
    mailbox: str | None = None  # the dev mailbox's base URL, to confirm new accounts

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"


def _bounded(kind: Callable[[str], float], low: float, high: float, what: str, *,
             low_open: bool = False) -> Callable[[str], float]:  # fmt: skip
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what}") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            above = f"above {low:g}" if low_open else f"from {low:g}"
            raise argparse.ArgumentTypeError(f"{what}: {above} to {high:g}, not {text}")
        return value

    return parse


def _host(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a shop's base URL: give one like http://127.0.0.1:8080"
        )
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r}: give the base URL without ?query or #part")
    try:
        parts.port  # noqa: B018 - raises on a port that is not one
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a port that is not one") from None
    return text.rstrip("/")


def _out(text: str) -> Path:
    path = Path(text)
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: name the result file, e.g. run.json")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {folder} for {text}: create it first")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {folder}")
    return path


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m loadgen",
        description="Mosaic's load generator: the shop's user flows, driven by Locust, against "
        "any shop's base URL.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="one headless load run; progress as JSON lines, the result as JSON",
        description="Drive the shop at HOST with one flow or the mix, for DURATION seconds "
        "after a warm-up. Without --rate: a closed loop, USERS users each starting their next "
        "action as soon as the last ended. With --rate: an open loop, RATE arrivals a second "
        "whatever the latency, at most USERS in flight (arrivals beyond are counted as "
        "dropped). Prints one JSON progress line a second on stdout; writes the result to "
        "--out. SIGUSR1 ends the measured window early and the run finishes as if its "
        "duration had passed (the result's window says how long it was); Ctrl-C stops it "
        "without a result. Exit 0 when the run completed (even with failures), 2 for bad "
        "arguments, 1 when the shop cannot be reached, 130 when interrupted.",
    )
    run.add_argument("--host", required=True, type=_host, metavar="URL",
                     help="the shop's base URL, e.g. http://127.0.0.1:8080")  # fmt: skip
    run.add_argument("--flow", required=True, choices=[MIX, *SINGLE_FLOWS], metavar="FLOW",
                     help=f"'{MIX}' (Online Boutique's proportions plus one signed-in user in "
                     f"ten) or one flow: {', '.join(SINGLE_FLOWS)}")  # fmt: skip
    run.add_argument("--users", required=True, metavar="N",
                     type=_bounded(int, 1, MAX_USERS, "users"),
                     help=f"closed loop: concurrent users; open loop: the most actions in "
                     f"flight (1..{MAX_USERS})")  # fmt: skip
    run.add_argument(
        "--duration",
        required=True,
        metavar="SECONDS",
        type=_bounded(float, 0, MAX_DURATION, "seconds", low_open=True),
        help=f"the measured window, after the warm-up (up to {MAX_DURATION:g})",
    )
    run.add_argument("--rate", metavar="PER_SECOND", default=None,
                     type=_bounded(float, 0, MAX_RATE, "arrivals a second", low_open=True),
                     help=f"open loop: arrivals a second (up to {MAX_RATE:g}); without it, a "
                     "closed loop")  # fmt: skip
    run.add_argument("--warmup", metavar="SECONDS", default=0.0,
                     type=_bounded(float, 0, MAX_WARMUP, "seconds"),
                     help=f"load before the measured window, not counted (0..{MAX_WARMUP:g}; "
                     "default 0)")  # fmt: skip
    run.add_argument(
        "--seed",
        metavar="N",
        default=1,
        type=int,
        help="seeds the users' choices and names the signed-in users' accounts (a "
        "later run with the same seed signs in to them again; default 1)",
    )
    run.add_argument(
        "--mailbox",
        metavar="URL",
        default=None,
        type=_host,
        help="the shop's dev mailbox (what `mosaic status` shows as mailbox): signed-in "
        "users confirm the accounts they sign up for with the link mailed there",
    )
    run.add_argument(
        "--out",
        required=True,
        type=_out,
        metavar="RESULT.json",
        help="where to write the result JSON",
    )
    return top


def plan_of(argv: Sequence[str] | None = None) -> Plan:
    """The plan from the command line; exits 2 with a message on bad arguments."""
    args = parser().parse_args(argv)
    return Plan(host=args.host, flow=args.flow, users=int(args.users), duration=args.duration,
                rate=args.rate, warmup=args.warmup, seed=args.seed, out=args.out,
                mailbox=args.mailbox)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    plan = plan_of(argv)
    from loadgen.driver import ShopUnreachable, drive  # imports Locust: gevent patches here

    try:
        drive(plan)
    except ShopUnreachable as unreachable:
        print(f"loadgen: {unreachable}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("loadgen: interrupted, no result written", file=sys.stderr)
        return 130
    return 0
