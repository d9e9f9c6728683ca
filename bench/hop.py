"""The price of a secure hop: plain HTTP, TLS, mTLS + service token, measured in one run.

Run: .venv/bin/python bench/hop.py [--requests 3000] [--concurrency 32] [--rounds 6]

Throwaway PKI in a temp dir; one callee process per mode (bench/hop_service.py, on the real
chassis), all on 127.0.0.1; this process is the caller, on uvloop, through the chassis
`ServiceClient` with `Credentials` (one variant uses bare aiohttp: the client's floor),
keep-alive on, C requests in flight; the no-reuse variants send `Connection: close`.
Each variant gets a warm-up, then a measured window; rounds interleave the variants, and
the table shows medians over rounds. CPU per request: psutil's user + system time of the
callee process and of this process over the window, divided by the requests. Then a few
in-process costs (handshakes, tokens). Method and figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
import hop_costs
import psutil
import uvloop
from chassis import Credentials, Problem, Response, ServiceClient
from hop_callees import CALLEE, CALLER, Callee, CalleeFailed, Pki, make_pki, running_callees
from loadgen.stats import percentile
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

PATH = "/v1/hop"
console = Console()
MYSELF = psutil.Process()


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    callee: str  # the mode of bench/hop_service.py
    new_connection: bool = False  # `Connection: close` on every request: nothing is reused
    bare: bool = False  # aiohttp alone instead of the chassis's ServiceClient

    @property
    def scheme(self) -> str:
        return "https" if self.callee in {"tls", "mtls"} else "http"


VARIANTS = (
    Variant("plain", "plain HTTP", "plain"),
    Variant("plain-bare", "plain HTTP, bare aiohttp", "plain", bare=True),
    Variant("token", "HTTP + token", "token"),
    Variant("tls", "TLS", "tls"),
    Variant("mtls", "mTLS + token", "mtls"),
    Variant("plain-new", "plain HTTP, no reuse", "plain", new_connection=True),
    Variant("mtls-new", "mTLS + token, no reuse", "mtls", new_connection=True),
)


class BareClient:
    """aiohttp alone, pooled as the chassis pools it, without what `ServiceClient` adds
    (retries, deadline, trace and request id headers, the token): the client's floor."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, *, headers: dict[str, str]) -> Response:
        assert self._session is not None, "open() first"
        async with self._session.request(method, self.base_url + path, headers=headers) as raw:
            return Response(raw.status, {}, await raw.read())


class BenchFailed(Exception):
    """A request failed: the figures would mean nothing."""


def fail(message: str) -> NoReturn:
    raise BenchFailed(message)


@dataclass
class Window:
    """One measured window of one variant; CPU in µs per request."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_us: float
    client_us: float
    others_share: float  # of the machine's CPU, used by processes other than ours meanwhile

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def total_us(self) -> float:
        return self.server_us + self.client_us


def own_cpu_seconds() -> float:
    times = MYSELF.cpu_times()
    return float(times.user + times.system)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, all processes, the kernel)."""
    times = psutil.cpu_times()
    busy = ("user", "nice", "system", "irq", "softirq")  # not steal; guest is within user
    return float(sum(getattr(times, name, 0.0) for name in busy))


async def drive(
    client: ServiceClient | BareClient,
    total: int,
    concurrency: int,
    headers: dict[str, str],
    show: Callable[[int], None],
) -> list[float]:
    """Send `total` GETs, `concurrency` at a time; the latency of each, in seconds."""
    latencies: list[float] = []
    left = total

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            started = time.perf_counter()
            try:
                response = await client.request("GET", PATH, headers=headers)
            except Problem as problem:
                fail(f"{client.base_url}{PATH}: {problem}")
            if response.status != 200:
                fail(f"{client.base_url}{PATH} answered {response.status}: {response.body[:300]!r}")
            latencies.append(time.perf_counter() - started)

    async def tick() -> None:
        while True:
            show(len(latencies))
            await asyncio.sleep(0.25)

    ticker = asyncio.create_task(tick())
    try:
        async with asyncio.TaskGroup() as workers:  # one failure cancels the others
            for _ in range(min(concurrency, total)):
                workers.create_task(worker())
    except* BenchFailed as failures:
        raise failures.exceptions[0] from None
    finally:
        ticker.cancel()
    show(len(latencies))
    return latencies


async def measure(
    variant: Variant,
    callee: Callee,
    credentials: Credentials,
    args: argparse.Namespace,
    progress: Progress,
) -> Window:
    total = args.new_connection_requests if variant.new_connection else args.requests
    warmup = max(total // 10, args.concurrency * 4)
    headers = {"Connection": "close"} if variant.new_connection else {}
    url = f"{variant.scheme}://127.0.0.1:{callee.port}"
    client = (
        BareClient(url) if variant.bare else ServiceClient(CALLEE, url, credentials=credentials)
    )
    task = progress.add_task(variant.label, total=warmup + total)

    def show(done: int) -> None:
        progress.update(task, completed=done)
        progress.refresh()

    await client.open()
    try:
        await drive(client, warmup, args.concurrency, headers, show)
        busy_before = machine_busy_seconds()
        server_before, client_before = callee.cpu_seconds(), own_cpu_seconds()
        started = time.perf_counter()
        latencies = await drive(
            client, total, args.concurrency, headers, lambda done: show(warmup + done)
        )
        seconds = time.perf_counter() - started
        server_cpu = callee.cpu_seconds() - server_before
        client_cpu = own_cpu_seconds() - client_before
        others = machine_busy_seconds() - busy_before - server_cpu - client_cpu
    finally:
        await client.close()  # the last client closes the shared session: no pooled leftovers
        progress.remove_task(task)
    ordered = sorted(latencies)  # the percentile loadgen and mosaic bench report, too
    return Window(
        requests=total,
        seconds=seconds,
        p50_ms=(percentile(ordered, 50) or 0.0) * 1000,
        p99_ms=(percentile(ordered, 99) or 0.0) * 1000,
        server_us=server_cpu / total * 1e6,
        client_us=client_cpu / total * 1e6,
        others_share=max(others, 0.0) / (seconds * (os.cpu_count() or 1)),
    )


async def run_rounds(
    args: argparse.Namespace, pki: Pki, callees: dict[str, Callee]
) -> dict[str, list[Window]]:
    # The caller's identity, as `Credentials.from_settings` builds it for a service.
    credentials = Credentials(
        CALLER,
        transport="mtls",
        tls_files=(pki.client_cert, pki.client_key, pki.ca),
        signing_key=pki.client_signing_key,
        trust_dir=None,
    )
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM while measuring: cancel, so the clients close and the callees are stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    windows: dict[str, list[Window]] = {v.key: [] for v in VARIANTS}
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, auto_refresh=False, transient=True) as progress:
        for round_number in range(1, args.rounds + 1):
            for variant in VARIANTS:
                window = await measure(
                    variant, callees[variant.callee], credentials, args, progress
                )
                windows[variant.key].append(window)
                console.print(
                    f"{round_number}/{args.rounds} {variant.label:<24}{window.rate:>7,.0f} req/s"
                    f"  CPU µs {window.server_us:>5,.0f} + {window.client_us:>5,.0f}"
                    f"  others {window.others_share:>4.0%}"
                )
    return windows


def summarize(windows: list[Window], plain: list[Window]) -> dict[str, float]:
    """Medians over rounds; the added CPU is paired with plain HTTP round by round, so a
    busier moment on the machine inflates both sides of each difference alike."""

    def median(value: Callable[[Window], float]) -> float:
        return statistics.median(value(w) for w in windows)

    return {
        "requests_per_s": median(lambda w: w.rate),
        "p50_ms": median(lambda w: w.p50_ms),
        "p99_ms": median(lambda w: w.p99_ms),
        "server_cpu_us": median(lambda w: w.server_us),
        "client_cpu_us": median(lambda w: w.client_us),
        "total_cpu_us": median(lambda w: w.total_us),
        "added_cpu_us": statistics.median(
            w.total_us - p.total_us for w, p in zip(windows, plain, strict=True)
        ),
        "others_share": median(lambda w: w.others_share),
    }


def report(summary: dict[str, dict[str, float]], in_process: dict[str, float]) -> None:
    table = Table(title="One hop on 127.0.0.1: medians over rounds, CPU in µs per request")
    for column in ("variant", "req/s", "p50 ms", "p99 ms", "callee", "caller", "total", "vs plain"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for variant in VARIANTS:
        row = summary[variant.key]
        table.add_row(
            variant.label,
            f"{row['requests_per_s']:,.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            f"{row['server_cpu_us']:,.0f}",
            f"{row['client_cpu_us']:,.0f}",
            f"{row['total_cpu_us']:,.0f}",
            "" if variant.key == "plain" else f"{row['added_cpu_us']:+,.0f}",
        )
    console.print(table)
    costs = Table(title="In-process: CPU in µs per operation")
    costs.add_column("operation")
    costs.add_column("µs", justify="right")
    for name, micros in in_process.items():
        costs.add_row(name, f"{micros:,.1f}")
    console.print(costs)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    packages = ("aiohttp", "uvicorn", "uvloop", "fastapi", "cryptography", "pyjwt", "stamina")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": models[0] if models else platform.processor(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "packages": {name: metadata.version(name) for name in packages},
    }


def in_process_costs(pki: Pki) -> dict[str, float]:
    return hop_costs.handshake_costs(
        pki.server_cert, pki.server_key, pki.ca, pki.client_cert, pki.client_key
    ) | hop_costs.token_costs(CALLER, CALLEE, pki.client_signing_key, pki.trust_dir)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=3000, help="measured requests per variant and round"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=6, help="rounds over all variants")
    parser.add_argument(
        "--new-connection-requests",
        type=int,
        help="measured requests of the no-reuse variants (default: --requests / 10)",
    )
    parser.add_argument("--json", type=Path, help="write the results here (default: a temp file)")
    args = parser.parse_args()
    if args.new_connection_requests is None:
        args.new_connection_requests = max(args.requests // 10, 2)
    if min(args.requests, args.new_connection_requests) < 2:
        parser.error("a window needs at least 2 requests, for its percentiles")
    if min(args.concurrency, args.rounds) < 1:
        parser.error("--concurrency and --rounds must be at least 1")
    return args


def on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # outside the event loop: unwind, so every callee is stopped


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    load_before = os.getloadavg()  # others' work on the machine skews every figure
    try:
        with tempfile.TemporaryDirectory(prefix="mosaic-hop-") as tmp:
            pki = make_pki(Path(tmp))
            with ExitStack() as stack:
                with console.status("starting one callee per mode ..."):
                    modes = dict.fromkeys(v.callee for v in VARIANTS)
                    callees = stack.enter_context(running_callees(modes, pki, Path(tmp)))
                windows = uvloop.run(run_rounds(args, pki, callees))
            with console.status("in-process costs: handshakes, tokens ..."):
                in_process = in_process_costs(pki)
    except (BenchFailed, CalleeFailed) as failure:
        console.print(f"[red]hop bench failed:[/red] {failure}")
        raise SystemExit(1) from None
    except (asyncio.CancelledError, KeyboardInterrupt):
        console.print("hop bench interrupted; every callee is stopped")
        raise SystemExit(130) from None

    summary = {key: summarize(ws, windows["plain"]) for key, ws in windows.items()}
    others = statistics.median(w.others_share for ws in windows.values() for w in ws)
    console.print(f"other processes used {others:.0%} of the machine's CPU (median of windows)")
    report(summary, in_process)
    out = args.json or Path(tempfile.gettempdir()) / f"mosaic-hop-{int(time.time())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine() | {"load_average_before": load_before},
        "settings": {
            "requests": args.requests,
            "new_connection_requests": args.new_connection_requests,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
        },
        "variants": {v.key: v.label for v in VARIANTS},
        "summary": summary,
        "windows": {key: [asdict(w) for w in ws] for key, ws in windows.items()},
        "in_process_us": in_process,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"results: {out}")


if __name__ == "__main__":
    main()
