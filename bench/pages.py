"""Pages per second through the whole shop: a quick probe for before/after comparisons.

Run: .venv/bin/python bench/pages.py [--variant before=HEAD~1 --variant after]
     [--variant off,OTEL_SDK_DISABLED=true --variant on,OTEL_TRACES_SAMPLER_ARG=0.1]
     [--page product --page home --page cart] [--concurrency 16] [--seconds 8] [--rounds 3]

Each variant is a `mosaic up` on its own new $MOSAIC_HOME: `after` (no `=REF`) runs the
working tree, `before=REF` runs the files of git REF (exported with `git archive` to a temp
dir and put first on PYTHONPATH, its services dir given to the runner), so two versions of
the code run side by side and the rounds interleave them: round 1 product on before, product
on after, home on before, ... Every variant is started first, so a round compares systems
that were both up, warm and idle apart from the one being measured.

A measured window: C concurrent clients (each with its own cookie jar, like a browser)
requesting the page in a closed loop for S seconds, after a warm-up. `--rate R` makes it an
open loop instead: R arrivals per second, at most C in flight (arrivals beyond are counted
as dropped). CPU per page: user + system CPU-seconds of every process of the variant
(Postgres with its backends) over the window, divided by the pages served.

Not the real benchmark (`mosaic bench` and loadgen/ are): a tool to tell whether a change
to the code made pages cheaper, on a machine too noisy for absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from loadgen.pages import categories, products
from loadgen.stats import percentile
from mosaic.ports import free_port
from mosaic_testing import UpProcess
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
console = Console()
PAGES = ("product", "home", "cart", "category")


@dataclass
class Variant:
    label: str
    ref: str | None  # None: the working tree
    env: dict[str, str] = field(default_factory=dict)  # the runner's, e.g. OTEL_* settings
    up: UpProcess | None = None
    url: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def export_tree(ref: str, into: Path) -> Path:
    """The files of `ref` in a new folder (no change to the repository itself)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
        check=True,
        capture_output=True,
    ).stdout
    tree = into / f"tree-{re.sub(r'[^A-Za-z0-9]', '_', ref)}"
    if tree.exists():  # variants of one ref with different settings share its files
        return tree
    tree.mkdir()
    tar_path = into / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(tree, filter="data")
    tar_path.unlink()
    return tree


def tree_env(tree: Path) -> dict[str, str]:
    sources = [
        str(src)
        for pattern in ("libs/*/src", "services/*/src", "tools/*/src", "loadgen/src")
        for src in sorted(tree.glob(pattern))
    ]
    return {
        "PYTHONPATH": os.pathsep.join(sources),
        "MOSAIC_SERVICES_DIR": str(tree / "services"),
    }


@contextmanager
def started(variants: list[Variant], scratch: Path) -> Iterator[None]:
    with ExitStack() as stack:
        for variant in variants:
            env = dict(variant.env)
            if variant.ref is not None:
                env.update(tree_env(export_tree(variant.ref, scratch)))
            home = scratch / f"home-{variant.label}"
            home.mkdir()
            up = UpProcess(home, free_port(), extra_env=env)
            console.print(f"[bold]{variant.label}[/]: mosaic up ({variant.ref or 'working tree'})")
            began = time.monotonic()
            up.start()
            stack.callback(up.stop)
            variant.url = up.wait_ready(timeout=180).strip()
            console.print(f"  ready in {time.monotonic() - began:.1f} s at {variant.url}")
            variant.up = up
            variant.pids = {name: info["pid"] for name, info in up.processes().items()}
        yield


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system seconds per process; Postgres's backends counted with it."""
    found: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)] if name == "postgres" else [proc]
            total = 0.0
            for one in procs:
                with_children = one.cpu_times()
                total += with_children.user + with_children.system
            found[name] = total
        except psutil.NoSuchProcess:
            continue
    return found


def page_path(page: str, variant: Variant, rng: random.Random) -> str:
    if page == "product":
        return f"/product/{rng.choice(variant.products)}"
    if page == "home":
        return "/"
    if page == "cart":
        return "/cart"
    if page == "category":
        return f"/category/{rng.choice(variant.categories)}"
    raise ValueError(page)


async def discover(variant: Variant) -> None:
    async with aiohttp.ClientSession() as session, session.get(variant.url + "/") as response:
        html = await response.text()
    variant.products = sorted(products(html))
    variant.categories = sorted(categories(html))
    if not variant.products:
        raise SystemExit(f"{variant.label}: no product links on the home page; is it seeded?")


@dataclass
class Window:
    variant: str
    page: str
    round: int
    pages: int
    failures: int
    dropped: int
    seconds: float
    latencies_ms: list[float]
    cpu: dict[str, float]  # CPU-seconds over the window per process
    bench_cpu: float

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(q: float) -> float:
            return percentile(lat, q) or 0.0

        served = max(self.pages, 1)
        return {
            "variant": self.variant,
            "page": self.page,
            "round": self.round,
            "pages": self.pages,
            "failures": self.failures,
            "dropped": self.dropped,
            "rps": self.pages / self.seconds,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "cpu_ms_per_page": sum(self.cpu.values()) * 1000 / served,
            "cpu_ms_per_page_by_process": {
                name: seconds * 1000 / served for name, seconds in self.cpu.items()
            },
            "bench_cpu_ms_per_page": self.bench_cpu * 1000 / served,
        }


async def one_window(
    variant: Variant,
    page: str,
    round_no: int,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    rate: float | None,
) -> Window:
    rng = random.Random(round_no)  # noqa: S311 (picking pages, not secrets)
    latencies: list[float] = []
    failures = 0
    dropped = 0
    measuring = False
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    sessions = [
        aiohttp.ClientSession(
            connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        for _ in range(concurrency)
    ]

    async def fetch(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        began = time.perf_counter()
        try:
            async with session.get(variant.url + page_path(page, variant, rng)) as response:
                await response.read()
                ok = response.status == 200
        except aiohttp.ClientError:
            ok = False
        if measuring:
            if ok:
                latencies.append((time.perf_counter() - began) * 1000)
            else:
                failures += 1

    async def closed_user(session: aiohttp.ClientSession, until: float) -> None:
        while time.monotonic() < until:
            await fetch(session)

    async def run_phase(length: float) -> None:
        nonlocal dropped
        until = time.monotonic() + length
        if rate is None:
            await asyncio.gather(*(closed_user(s, until) for s in sessions))
            return
        idle = list(sessions)
        tasks: set[asyncio.Task[None]] = set()

        async def arrival(session: aiohttp.ClientSession) -> None:
            try:
                await fetch(session)
            finally:
                idle.append(session)

        next_at = time.monotonic()
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1 / rate
            if not idle:
                if measuring:
                    dropped += 1
                continue
            task = asyncio.create_task(arrival(idle.pop()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    try:
        await run_phase(warmup)
        me = psutil.Process()
        cpu_before = cpu_seconds(variant.pids)
        mine_before = sum(me.cpu_times()[:2])
        measuring = True
        began = time.monotonic()
        await run_phase(seconds)
        took = time.monotonic() - began
        measuring = False
        cpu_after = cpu_seconds(variant.pids)
        mine = sum(me.cpu_times()[:2]) - mine_before
    finally:
        for session in sessions:
            await session.close()
        await connector.close()
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after if name in cpu_before}
    return Window(
        variant.label, page, round_no, len(latencies), failures, dropped, took, latencies, cpu, mine
    )


def parse_variant(text: str) -> Variant:
    """`LABEL[=GITREF][,VAR=VALUE...]`: the variables go into the runner's environment."""
    head, *settings = text.split(",")
    label, _, ref = head.partition("=")
    env = {}
    for setting in settings:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            raise SystemExit(f"--variant {text!r}: write each setting as VAR=VALUE after a comma")
        env[name] = value
    return Variant(label, ref or None, env)


def median_of(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def report(windows: list[Window], variants: list[Variant], pages: list[str]) -> None:
    summaries = [w.summary() for w in windows]
    table = Table(title="pages through the shop: medians over rounds")
    for column in ("page", "variant", "pages/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/page"):
        table.add_column(column, justify="right" if column not in {"page", "variant"} else "left")
    table.add_column("failed", justify="right")
    for page in pages:
        for variant in variants:
            rows = [s for s in summaries if s["page"] == page and s["variant"] == variant.label]
            if not rows:
                continue
            table.add_row(
                page,
                variant.label,
                f"{median_of(rows, 'rps'):.0f}",
                f"{median_of(rows, 'p50_ms'):.1f}",
                f"{median_of(rows, 'p95_ms'):.1f}",
                f"{median_of(rows, 'p99_ms'):.1f}",
                f"{median_of(rows, 'cpu_ms_per_page'):.2f}",
                str(sum(r["failures"] + r["dropped"] for r in rows)),
            )
    console.print(table)
    per_process = Table(title="CPU ms per page by process (medians over rounds)")
    per_process.add_column("process")
    names = sorted({n for s in summaries for n in s["cpu_ms_per_page_by_process"]})
    cells: list[list[str]] = [[name.removesuffix(".web.1")] for name in names]
    for page in pages:
        for variant in variants:
            rows = [s for s in summaries if s["page"] == page and s["variant"] == variant.label]
            if not rows:
                continue
            per_process.add_column(f"{page}\n{variant.label}", justify="right")
            by_process = [r["cpu_ms_per_page_by_process"] for r in rows]
            for cell, name in zip(cells, names, strict=True):
                cell.append(f"{statistics.median(b.get(name, 0.0) for b in by_process):.2f}")
    for cell in cells:
        per_process.add_row(*cell)
    console.print(per_process)


async def measure(args: argparse.Namespace, variants: list[Variant]) -> list[Window]:
    for variant in variants:
        await discover(variant)
    windows: list[Window] = []
    total = args.rounds * len(args.page) * len(variants)
    done = 0
    for round_no in range(1, args.rounds + 1):
        for page in args.page:
            order = variants if round_no % 2 else list(reversed(variants))
            for variant in order:
                window = await one_window(
                    variant,
                    page,
                    round_no,
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    rate=args.rate,
                )
                windows.append(window)
                done += 1
                s = window.summary()
                console.print(
                    f"[{done}/{total}] round {round_no} {page:<8} {variant.label:<10}"
                    f" {s['rps']:7.0f}/s p50 {s['p50_ms']:6.1f} p95 {s['p95_ms']:6.1f}"
                    f" CPU {s['cpu_ms_per_page']:6.2f} ms/page"
                    f" failed {s['failures'] + s['dropped']}"
                    f" (load {os.getloadavg()[0]:.1f})"
                )
    return windows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]) if __doc__ else None,
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="LABEL[=GITREF][,VAR=VALUE...] (repeatable; default: one variant, the working"
        " tree), e.g. off,OTEL_SDK_DISABLED=true or r01,OTEL_TRACES_SAMPLER_ARG=0.1",
    )
    parser.add_argument("--page", action="append", choices=PAGES, help="default: product")
    parser.add_argument("--concurrency", type=int, default=16, help="clients in flight")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, help="open loop: arrivals per second")
    parser.add_argument("--out", type=Path, help="write every window as JSON here")
    args = parser.parse_args()
    args.page = args.page or ["product"]
    variants = [parse_variant(v) for v in args.variant] or [Variant("current", None)]
    if len({v.label for v in variants}) != len(variants):
        parser.error("variant labels must differ")
    runner: Callable[..., list[Window]]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    with tempfile.TemporaryDirectory(prefix="mosaic-pages-") as tmp, started(variants, Path(tmp)):
        windows = runner(measure(args, variants))
    report(windows, variants, args.page)
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "taken_at": datetime.now(UTC).isoformat(),
                    "argv": sys.argv[1:],
                    "variants": {v.label: v.ref for v in variants},
                    "windows": [w.summary() for w in windows],
                },
                indent=2,
            )
        )
        console.print(f"results: {args.out}")


if __name__ == "__main__":
    main()
