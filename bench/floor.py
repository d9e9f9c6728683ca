"""The floor page of issue 16: the least a page of ours can cost, built from our libraries.

Run: .venv/bin/python bench/floor.py up [--chassis] [--port 8080]   (MOSAIC_HOME: a new,
empty folder)

An edge (plain HTTP on 127.0.0.1, as the frontend under `mosaic up`) answers `/` with 3 mTLS
hops at once (certificates from `mosaic.pki`) to three services on uvicorn: two read a row
by primary key (SQLAlchemy async on asyncpg), one GETs a key from Valkey (redis-py asyncio);
then a small HTML page. By default the four are bare FastAPI apps (bench/floor_bare.py);
with `--chassis` they are built on the chassis (`ServiceClient`, `create_app`, `Database`,
`Cache`, allowlists, logs, metrics), so the two floors show what the chassis costs. Postgres
and Valkey are the embedded servers of `mosaic up`; every part is its own process. `up`
writes the state `mosaic up` writes (url, ready, pids), so `mosaic bench --floor`/`--compare`
measure it as the shop; SIGTERM stops it all. Method and figures: docs/performance.md ("The
floor page").
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Annotated, Any

from mosaic.ports import free_port

EDGE = "floor-edge"
APIS = ("floor-items-a", "floor-items-b", "floor-greeting")  # the three hops' callees
DATA = "floor"  # the database and Valkey user all three share
ITEM_IDS = (1, 2)
LOOPBACK = "127.0.0.1"
PAGE = (
    "<!doctype html><html><head><title>Floor</title></head><body><h1>{first}</h1>"
    "<p>{second}</p><p>{greeting}</p></body></html>"
)


def api_app() -> Any:
    """One callee: a primary-key read from Postgres, or a GET from Valkey."""
    from chassis import Cache, Database, ServiceSettings, callers, create_app, dependency
    from chassis import load_settings as load
    from fastapi import APIRouter, Depends
    from sqlalchemy import Column, Integer, MetaData, Table, Text, select

    items = Table(
        "items", MetaData(), Column("id", Integer, primary_key=True), Column("name", Text)
    )
    database = Database(os.environ["DATABASE_URL"])
    cache = Cache(os.environ["REDIS_URL"], prefix=DATA)
    router = APIRouter(dependencies=[callers(EDGE)])

    @router.get("/v1/items/{item_id}")
    async def item(
        item_id: int, db: Annotated[Database, Depends(dependency(Database))]
    ) -> dict[str, Any]:
        async with db.session() as session:
            row = (await session.execute(select(items).where(items.c.id == item_id))).one()
        return {"id": row.id, "name": row.name}

    @router.get("/v1/greeting")
    async def greeting(valkey: Annotated[Cache, Depends(dependency(Cache))]) -> dict[str, Any]:
        value = await valkey.client.get(valkey.key("greeting"))
        return {"greeting": value.decode() if isinstance(value, bytes) else str(value or "")}

    return create_app(load(ServiceSettings), routers=[router], resources=[database, cache])


def edge_app() -> Any:
    """The page server: three calls at once, one page."""
    from chassis import Credentials, ServiceClient, ServiceSettings, create_app, load_settings
    from fastapi import APIRouter
    from fastapi.responses import HTMLResponse

    settings = load_settings(ServiceSettings)
    credentials = Credentials.from_settings(settings)
    clients = [
        ServiceClient(api, os.environ[url_variable(api)], credentials=credentials) for api in APIS
    ]
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        first, second, greeting = await asyncio.gather(
            clients[0].get_json(f"/v1/items/{ITEM_IDS[0]}"),
            clients[1].get_json(f"/v1/items/{ITEM_IDS[1]}"),
            clients[2].get_json("/v1/greeting"),
        )
        html = PAGE.format(first=first["name"], second=second["name"], **greeting)
        return HTMLResponse(html)

    return create_app(settings, routers=[router], resources=clients, credentials=credentials)


def url_variable(api: str) -> str:
    return api.upper().replace("-", "_") + "_URL"


def up(home: Path, port: int, *, chassis: bool = False) -> None:
    """Servers, PKI, data, the four processes; the state; then wait for SIGTERM."""
    import psutil
    from mosaic.backing.servers import BackingServers
    from mosaic.pki.files import Pki
    from mosaic.pki.lifecycle import ensure_pki
    from mosaic.plan import identity_env
    from mosaic.state import run_dir, write_state

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with ExitStack() as stack:
        servers = stack.enter_context(BackingServers(home))
        ensure_pki(home, [EDGE, *APIS])
        urls = {"DATABASE_URL": servers.database_url(DATA), "REDIS_URL": servers.redis_url(DATA)}
        asyncio.run(_seed(urls))
        entries = [_entry(p, "server") for p in psutil.Process().children()]
        ports = {api: free_port() for api in APIS}
        callees = {url_variable(api): f"https://{LOOPBACK}:{p}" for api, p in ports.items()}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TLS_", "SERVICE_"))}
        base["LOG_FORMAT"] = "json"  # one canonical line per request, as under `mosaic up`
        script = __file__ if chassis else str(Path(__file__).with_name("floor_bare.py"))
        logs = run_dir(home)
        logs.mkdir(parents=True, exist_ok=True)
        for name in (*APIS, EDGE):
            env = base | identity_env(Pki.of(home).service(name), "mtls") | urls | callees
            env |= {"MOSAIC_SERVICE": name, "PORT": str(ports.get(name, port))}
            env |= {"OPS_PORT": str(free_port()), "EDGE": str(name == EDGE).lower()}
            with (logs / f"{name}.log").open("ab") as log:
                child = subprocess.Popen(
                    [sys.executable, script, "edge" if name == EDGE else "api"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            stack.callback(_stop, child)
            entries.append(_entry(psutil.Process(child.pid), "web", name))
        for name, listening in [*ports.items(), (EDGE, port)]:
            _wait_listening(name, listening)
        url = f"http://{LOOPBACK}:{port}"
        write_state(home, {"url": url, "ready": True, "processes": entries, "mode": "floor"})
        print(f"floor page ready at {url}/", flush=True)
        with suppress(KeyboardInterrupt):  # SIGTERM too: the handler above
            signal.pause()
        write_state(home, {"url": url, "ready": False, "processes": []})


async def _seed(urls: dict[str, str]) -> None:
    import asyncpg
    import redis.asyncio as redis

    connection = await asyncpg.connect(urls["DATABASE_URL"])
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS items (id integer PRIMARY KEY, name text NOT NULL);"
            "INSERT INTO items VALUES (1, 'Sunglasses'), (2, 'Tank top') ON CONFLICT DO NOTHING"
        )
    finally:
        await connection.close()
    client = redis.from_url(urls["REDIS_URL"])
    await client.set(f"{DATA}:greeting", "Hello from the floor")
    await client.aclose()


def _entry(process: Any, kind: str, name: str | None = None) -> dict[str, Any]:
    service = name or ("valkey" if "valkey" in process.name() else "postgres")
    found = {"name": service, "service": service, "process": kind, "pid": process.pid}
    return found | {"started_at": process.create_time()}


def _wait_listening(name: str, port: int, timeout: float = 180.0) -> None:
    """A busy machine (two cores, a load of 30) takes a minute to import a service."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on {port} within {timeout:.0f} s")


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("role", choices=("up", "edge", "api"))
    parser.add_argument("--port", type=int, default=0, help="the edge's port (up; default: free)")
    parser.add_argument(
        "--chassis", action="store_true", help="up: the floor built on the chassis, not bare"
    )
    args = parser.parse_args()
    if args.role == "up":
        up(Path(os.environ["MOSAIC_HOME"]), args.port or free_port(), chassis=args.chassis)
        return
    from chassis import serve

    serve(edge_app if args.role == "edge" else api_app)


if __name__ == "__main__":
    main()
