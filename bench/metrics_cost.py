"""The CPU price of the metrics (issue 14 item 2): per request served, per call made, per scrape.

    .venv/bin/python bench/metrics_cost.py [--requests 4000] [--rounds 5] >/dev/null

1. A chassis app answering over ASGI (no sockets: the app's own cost shows), metrics on
   against metrics off (the middleware's counting replaced by nothing), in alternating
   rounds; the figure is the median of the rounds' CPU per request.
2. The counting alone: what the middleware adds per request, and the client per attempt.
3. One scrape of /metrics with a realistic number of series (its text is built per scrape).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable

import httpx
from chassis import ServiceSettings, callers, create_app, metrics, middleware
from chassis.testing import ServiceKeys
from fastapi import APIRouter


def cpu_us(action: Callable[[], object], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        action()
    return (time.process_time() - started) / count * 1e6


async def served_cpu_us(http: httpx.AsyncClient, headers: dict[str, str], count: int) -> float:
    started = time.process_time()
    for number in range(count):
        await http.get(f"/v1/products/p{number % 50}", headers=headers)
    return (time.process_time() - started) / count * 1e6


async def on_and_off(requests: int, rounds: int) -> tuple[float, float]:
    import os
    import tempfile
    from pathlib import Path

    keys = ServiceKeys(Path(tempfile.mkdtemp()), ["tester"])
    os.environ.update(
        MOSAIC_SERVICE="bench", PORT="1", OPS_PORT="2", TRANSPORT_SECURITY="mesh",
        SERVICE_TRUST_DIR=str(keys.trust_dir), LOG_LEVEL="warning",
    )  # fmt: skip
    router = APIRouter(prefix="/v1", dependencies=[callers("tester")])

    @router.get("/products/{product_id}")
    async def product(product_id: str) -> dict[str, str]:
        return {"id": product_id}

    app = create_app(ServiceSettings(), routers=[router])
    headers = keys.headers("tester", "bench")
    counting = middleware._count
    on: list[float] = []
    off: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b"
    ) as http:
        await served_cpu_us(http, headers, 200)  # warm
        for number in range(rounds):  # which goes first alternates too
            for enabled in (True, False) if number % 2 == 0 else (False, True):
                middleware._count = counting if enabled else _no_count
                (on if enabled else off).append(await served_cpu_us(http, headers, requests))
    middleware._count = counting
    say(f"rounds, on:  {', '.join(f'{x:.0f}' for x in on)} µs")
    say(f"rounds, off: {', '.join(f'{x:.0f}' for x in off)} µs")
    return statistics.median(on), statistics.median(off)


def say(line: str) -> None:
    """Results on stderr: the app's request lines go to stdout (send it to /dev/null)."""
    print(line, file=sys.stderr)


def _no_count(service: str, route: str, method: str, status: int, seconds: float) -> None:
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="per round (default 4000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    args = parser.parse_args()

    on, off = asyncio.run(on_and_off(args.requests, args.rounds))
    say(f"served over ASGI: metrics on {on:.1f} µs, off {off:.1f} µs of CPU per request")

    count = 100_000
    served = cpu_us(
        lambda: middleware._count("bench", "/v1/products/{id}", "GET", 200, 0.01), count
    )
    say(f"counting one request served (counter + histogram): {served:.2f} µs")
    outcome = metrics.http_client_requests.labels("bench", "catalog", "ok", "1")
    timed = metrics.http_client_duration.labels("bench", "catalog")

    def attempt() -> None:
        metrics.http_client_requests.labels("bench", "catalog", "ok", metrics.attempt_label(1))
        outcome.inc()
        timed.observe(0.01)

    say(f"counting one call attempt (labels, counter + histogram): {cpu_us(attempt, count):.2f} µs")
    for route in range(40):  # a service's routes x statuses: a few hundred series
        for status in (200, 404, 422, 500):
            middleware._count("bench", f"/v1/route{route}", "GET", status, 0.01)
    scrape = cpu_us(lambda: asyncio.run(metrics.exposition()), 200)
    lines = len(asyncio.run(metrics.exposition()).splitlines())
    say(f"one scrape of /metrics ({lines} lines): {scrape:.0f} µs")


if __name__ == "__main__":
    main()
