"""Where one service's CPU goes on one route: cProfile of its app, in-process, on a live shop.

Run (with a `mosaic up` running on $MOSAIC_HOME):
  .venv/bin/python bench/profile_route.py catalog /v1/products/brass-compass --caller frontend
  .venv/bin/python bench/profile_route.py frontend /product/brass-compass

The service's app is built in this process with the environment of its running web process
(read from /proc: the same databases, Valkey, keys and callee URLs), its lifespan run, and
then called straight through ASGI (no server, no sockets in front of it): N requests, C at a
time, under cProfile. Calls it makes to other services go to the running shop. A caller's
token is signed with the running caller's own key, and its certificate identity is put into
the scope as the chassis's uvicorn protocol does. Prints the top functions by own time and
by cumulative time, and the CPU per request with and without the profiler.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def status_pids() -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-m", "mosaic", "status", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {p["name"]: p["pid"] for p in json.loads(out)["processes"]}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def web_pid(pids: dict[str, int], service: str) -> int:
    if f"{service}.web.1" in pids:
        return pids[f"{service}.web.1"]
    raise SystemExit(f"no running {service}.web.1 in `mosaic status`: {sorted(pids)}")


def factory(service: str) -> Any:
    """The web app's factory, as the service declares it in `[tool.mosaic] app`."""
    from mosaic.services import load_service

    declared = load_service(ROOT / "services" / service).apps.get("web")
    if declared is None:
        raise SystemExit(f"services/{service}/pyproject.toml declares no web app factory")
    module, _, function = declared.partition(":")
    return getattr(importlib.import_module(module), function)


async def drive(
    app: Any, scopes: Callable[[], dict[str, Any]], n: int, concurrency: int
) -> list[int]:
    statuses: list[int] = []
    queue = list(range(n))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def worker() -> None:
        while queue:
            queue.pop()
            scope = scopes()
            status = 0

            async def send(message: dict[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]

            await app(scope, receive, send)
            statuses.append(status)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def scope_for(
    path: str, headers: list[tuple[bytes, bytes]], identity: str | None
) -> dict[str, Any]:
    raw_path, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {"tls": {"client_identity": identity}},
        "state": {},
    }


async def run(args: argparse.Namespace) -> None:
    from asgi_lifespan import LifespanManager
    from chassis.logs import configure_logging
    from chassis.tls import spiffe_id
    from chassis.tokens import TokenSigner, load_signing_key

    pids = status_pids()
    env = environ_of(web_pid(pids, args.service))
    os.environ.update(env)
    os.environ.pop("PYTHONPATH", None)
    for setting in args.set:
        name, _, value = setting.partition("=")
        os.environ[name] = value
    from chassis.tracing import configure_tracing

    configure_tracing(args.service)  # as `serve` does: its spans are part of the route's cost
    app = factory(args.service)()
    settings = app.state.settings
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115, PTH123, ASYNC230 (the run's log sink)
    configure_logging(service=settings.service_name, version=settings.version, log_format="json")
    headers: list[tuple[bytes, bytes]] = [(b"host", b"bench"), (b"cookie", b"")]
    identity = None
    signer = None
    if args.caller:
        caller_env = environ_of(web_pid(pids, args.caller))
        key = load_signing_key(Path(caller_env["SERVICE_SIGNING_KEY_FILE"]))
        signer = TokenSigner(args.caller, key)
        identity = spiffe_id(args.caller)

    def scopes() -> dict[str, Any]:
        # A caller's token, reused while fresh (as the chassis client does): a long run
        # outlives one token, and a callee re-verifies an expired token on every request.
        token = [(b"x-service-token", signer.token_for(args.service).encode())] if signer else []
        return scope_for(args.path, [*headers, *token], identity)

    n, c = args.requests, args.concurrency
    async with LifespanManager(app) as manager:
        asgi = manager.app
        statuses = await drive(asgi, scopes, max(50, n // 10), c)
        began = time.process_time()
        statuses = await drive(asgi, scopes, n, c)
        plain = time.process_time() - began
        # CPU time, not wall-clock: a send() that wakes the callee on a busy 2-core machine
        # would otherwise be charged with the time the callee ran.
        profile = cProfile.Profile(time.process_time)
        began = time.process_time()
        profile.enable()
        await drive(asgi, scopes, n, c)
        profile.disable()
        profiled = time.process_time() - began
    sys.stdout = sys.__stdout__
    counts = {s: statuses.count(s) for s in set(statuses)}
    print(
        f"{args.service} {args.path}: statuses {counts}; CPU per request "
        f"{plain / args.requests * 1e6:.0f} µs ({profiled / args.requests * 1e6:.0f} µs profiled)"
    )
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    if args.out:
        stats.dump_stats(args.out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service")
    parser.add_argument("path", help="path and query, e.g. /v1/products?page_size=100")
    parser.add_argument("--caller", help="sign as this service (its running process's key)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="override a variable of the running process, e.g. OTEL_TRACES_SAMPLER_ARG=1.0",
    )
    parser.add_argument("--out", type=Path, help="write the pstats file here")
    args = parser.parse_args()
    import uvloop

    uvloop.run(run(args))


if __name__ == "__main__":
    main()
