"""What `mosaic up --faults` costs on a hop with no fault on: bench/hop.py's production hop
(mTLS + service token) direct, and through the fault proxy (mosaic.chaos.proxy) running in
a process of its own on plain asyncio, as the runner holds it; rounds interleave the two.

Run: .venv/bin/python bench/fault_proxy.py [--requests 3000] [--concurrency 32] [--rounds 4]

CPU per request: the callee's, this caller's, and the proxy process's, over each window.
Figures: docs/performance.md, "What the fault proxy costs".
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import uvloop
from chassis import Credentials
from hop import VARIANTS, Window, console, measure
from hop_callees import Callee, Pki, free_port, make_pki, running_callees
from rich.progress import Progress

PROXY = """
import asyncio, sys
from mosaic.chaos.proxy import HopProxy

async def main() -> None:
    proxy = HopProxy("bench->hop", "127.0.0.1", int(sys.argv[2]))
    await proxy.start(int(sys.argv[1]))
    await asyncio.Event().wait()

asyncio.run(main())
"""


class Via:
    """The callee as the caller sees it through the proxy: the proxy's port, the callee's CPU."""

    def __init__(self, port: int, callee: Callee) -> None:
        self.port = port
        self.cpu_seconds = callee.cpu_seconds


Rows = dict[str, list[tuple[Window, float]]]  # per way: each window, the proxy's µs/request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    args.new_connection_requests = args.requests
    with tempfile.TemporaryDirectory(prefix="mosaic-fault-proxy-") as tmp:
        pki = make_pki(Path(tmp))
        with running_callees(["mtls"], pki, Path(tmp)) as callees:
            callee = callees["mtls"]
            port = free_port()
            proxy = subprocess.Popen([sys.executable, "-c", PROXY, str(port), str(callee.port)])
            try:
                _wait_listening(port)
                rows = uvloop.run(_rounds(args, pki, callee, Via(port, callee), proxy.pid))
            finally:
                proxy.terminate()
                proxy.wait(10)
    _report(rows, args)


async def _rounds(
    args: argparse.Namespace, pki: Pki, callee: Callee, via: Via, proxy_pid: int
) -> Rows:
    credentials = Credentials(
        "bench",
        transport="mtls",
        tls_files=(pki.client_cert, pki.client_key, pki.ca),
        signing_key=pki.client_signing_key,
        trust_dir=None,
    )
    mtls = next(v for v in VARIANTS if v.key == "mtls")
    proxy = psutil.Process(proxy_pid)
    rows: Rows = {"direct": [], "proxied": []}
    with Progress(console=console, transient=True) as progress:
        for number in range(1, args.rounds + 1):
            for key, target in (("direct", callee), ("proxied", via)):
                before = sum(proxy.cpu_times()[:2])
                window = await measure(mtls, target, credentials, args, progress)  # type: ignore[arg-type]
                used = (sum(proxy.cpu_times()[:2]) - before) / window.requests * 1e6
                rows[key].append((window, used if key == "proxied" else 0.0))
                console.print(
                    f"{number}/{args.rounds} {key:<8} {window.rate:>7,.0f} req/s"
                    f"  p50 {window.p50_ms:5.1f} ms  p99 {window.p99_ms:6.1f} ms"
                    f"  CPU µs: callee {window.server_us:,.0f}, caller {window.client_us:,.0f},"
                    f" proxy {used:,.0f}"
                )
    return rows


def _report(rows: Rows, args: argparse.Namespace) -> None:
    console.print(
        f"medians over {args.rounds} rounds of {args.requests} requests, "
        f"{args.concurrency} in flight; load average now {os.getloadavg()[0]:.1f}"
    )
    for key, found in rows.items():
        windows = [w for w, _ in found]
        console.print(
            f"{key:<8} {statistics.median(w.rate for w in windows):>7,.0f} req/s"
            f"  p50 {statistics.median(w.p50_ms for w in windows):.1f} ms"
            f"  p99 {statistics.median(w.p99_ms for w in windows):.1f} ms"
            f"  CPU µs: callee {statistics.median(w.server_us for w in windows):,.0f},"
            f" caller {statistics.median(w.client_us for w in windows):,.0f},"
            f" proxy {statistics.median(p for _, p in found):,.0f}"
        )


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the proxy did not listen within 30 s")


if __name__ == "__main__":
    main()
