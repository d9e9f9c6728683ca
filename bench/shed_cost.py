"""What one refusal costs the refusing process: admission control's middleware against the
HTTP protocol's early refusal (docs/performance.md, "What a refusal costs").

Run: .venv/bin/python bench/shed_cost.py [--seconds 5] [--connections 32] [--rounds 3]
A server process of the chassis's own (`create_app`, `api_server` on uvloop, plain HTTP,
the edge's settings) with a bound of one request in flight; one request is held inside it
for the whole run, so every other request is refused. wrk (closed loop, keep-alive, one
thread) asks for as many refusals as the server can give; the server's CPU seconds
(user + system, from /proc) over the run divided by the refusals it gave is the cost of
one. `--path middleware` turns the early refusal off in the server, so the same server
refuses through the ASGI middleware as it did before. The modes alternate, round by
round, so the machine's drift falls on both. With `--pin`, the server runs on core 0 and
wrk on core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from mosaic.bench.wrk import WrkRun, ensure_wrk, run_wrk
from mosaic.ports import free_port

MODES = ("early", "middleware")


def serve(port: int, mode: str) -> None:
    """The server process: one held route, everything else refused past a bound of one."""
    from chassis import ServiceSettings, create_app
    from chassis.security import Credentials
    from chassis.server import api_server, listening_socket, run_event_loop
    from chassis.server_limits import BoundedHttpProtocol
    from fastapi import APIRouter

    if mode == "middleware":  # the refusal as it was: every request through the ASGI app
        BoundedHttpProtocol._refusal_is_the_answer = lambda self: False  # type: ignore[method-assign]
    router = APIRouter()
    release = asyncio.Event()

    @router.get("/v1/hold")
    async def hold() -> dict[str, str]:
        await release.wait()
        return {"status": "released"}

    settings = ServiceSettings(
        MOSAIC_SERVICE="bench", PORT=port, OPS_PORT=free_port(), EDGE=True,
        TRANSPORT_SECURITY="mesh", MAX_IN_FLIGHT=1, LOG_LEVEL="warning",
    )  # fmt: skip
    app = create_app(settings, routers=[router])
    server = api_server(app, settings, Credentials.from_settings(settings))
    sock = listening_socket("127.0.0.1", port)

    async def main() -> bool:
        await server.serve(sockets=[sock])
        return True

    print("serving", flush=True)
    run_event_loop(main())


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def held(port: int) -> socket.socket:
    """A connection whose request stays in flight until it is closed."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /v1/hold HTTP/1.1\r\nHost: bench\r\n\r\n")
    return sock


def one_round(mode: str, args: argparse.Namespace, wrk: str) -> dict[str, float]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", mode, "--port", str(port)]
    if args.pin:
        command = ["taskset", "-c", "0", *command]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "serving"
            time.sleep(0.5)  # the socket listens once serve() runs
            holder = held(port)
            time.sleep(0.2)
            run = WrkRun(f"http://127.0.0.1:{port}/v1/refused", args.seconds, args.connections, 1)
            before = cpu_seconds(server.pid)
            figures, _ = pinned_wrk(run, wrk) if args.pin else run_wrk(run, wrk)
            spent = cpu_seconds(server.pid) - before
            holder.close()
        finally:
            server.terminate()
            server.wait(10)
    refused = figures["requests"]
    return {
        "refused": refused,
        "refused_per_s": figures["rps"],
        "us_per_refusal": spent / refused * 1e6 if refused else float("nan"),
        "server_cpu_s": spent,
        "p99_ms": figures["p99_ms"] or 0.0,
    }


def pinned_wrk(run: WrkRun, wrk: str) -> tuple[dict[str, Any], str]:
    """wrk on core 1: the same run, through a wrapper that puts `taskset` in front."""
    with tempfile.TemporaryDirectory(prefix="shed-cost-") as folder:
        wrapper = Path(folder) / "wrk"
        wrapper.write_text(f'#!/bin/sh\nexec taskset -c 1 {wrk} "$@"\n')
        wrapper.chmod(0o755)
        return run_wrk(run, str(wrapper))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run (5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections (32)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode (3)")
    parser.add_argument("--pin", action="store_true", help="server on core 0, wrk on core 1")
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.serve)
        return
    wrk = ensure_wrk(print)  # as `mosaic bench`: installed when root, else how to
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for number in range(args.rounds):
        for mode in MODES:
            figures = one_round(mode, args, wrk)
            results[mode].append(figures)
            print(f"round {number + 1} {mode}: {json.dumps(figures)}", flush=True)
    for mode, runs in results.items():
        costs = sorted(run["us_per_refusal"] for run in runs)
        rates = sorted(run["refused_per_s"] for run in runs)
        print(f"{mode}: {costs[0]:.1f}-{costs[-1]:.1f} µs of CPU per refusal, "
              f"{rates[0]:.0f}-{rates[-1]:.0f} refusals/s")  # fmt: skip
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
