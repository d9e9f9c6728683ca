"""The bare floor page's two processes: FastAPI apps on uvicorn, no chassis around them.

Run by `bench/floor.py up` (the default; `--chassis` runs the chassis-built ones instead):
`floor_bare.py edge` serves `/` over plain HTTP and makes its 3 hops at once through one
aiohttp `ClientSession` with the chassis client's pool settings and TLS context;
`floor_bare.py api` serves a primary-key read (SQLAlchemy async core on asyncpg, the
chassis' pool settings) and a Valkey GET (redis-py asyncio) over mTLS with the chassis'
server context (TLS 1.3, a client certificate from the run's CA required). No middleware,
tokens, logs, metrics or tracing. Method and figures: docs/performance.md ("The floor page").
"""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from chassis.tls import client_context, server_context
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from floor import APIS, DATA, ITEM_IDS, LOOPBACK, PAGE, url_variable


def _tls_files() -> tuple[Path, Path, Path]:
    files = (os.environ[f"TLS_{part}_FILE"] for part in ("CERT", "KEY", "CA"))
    cert, key, ca = (Path(name) for name in files)
    return cert, key, ca


def api_app() -> FastAPI:
    """One callee: a row by primary key from Postgres, or a key from Valkey."""
    import redis.asyncio as redis
    from sqlalchemy import Column, Integer, MetaData, Table, Text, select
    from sqlalchemy.ext.asyncio import create_async_engine

    items = Table(
        "items", MetaData(), Column("id", Integer, primary_key=True), Column("name", Text)
    )
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={"timeout": 5, "command_timeout": 30},
    )
    valkey = redis.from_url(os.environ["REDIS_URL"])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await valkey.aclose()
        await engine.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/v1/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        async with engine.connect() as connection:
            query = select(items).where(items.c.id == item_id)
            row = (await connection.execute(query)).one()
        return {"id": row.id, "name": row.name}

    @app.get("/v1/greeting")
    async def greeting() -> dict[str, Any]:
        value = await valkey.get(f"{DATA}:greeting")
        return {"greeting": value.decode() if isinstance(value, bytes) else str(value or "")}

    return app


def edge_app() -> FastAPI:
    """The page server: three calls at once over mTLS, one page."""
    import aiohttp

    tls = client_context(*_tls_files())
    urls = [os.environ[url_variable(api)] for api in APIS]
    paths = (f"/v1/items/{ITEM_IDS[0]}", f"/v1/items/{ITEM_IDS[1]}", "/v1/greeting")
    timeout = aiohttp.ClientTimeout(total=10, connect=2)
    pool: list[aiohttp.ClientSession] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=30)
        pool.append(aiohttp.ClientSession(connector=connector))
        yield
        await pool[0].close()

    async def get_json(url: str) -> dict[str, Any]:
        async with pool[0].get(url, ssl=tls, timeout=timeout) as answer:
            answer.raise_for_status()
            found: dict[str, Any] = await answer.json()
            return found

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        calls = (get_json(url + path) for url, path in zip(urls, paths, strict=True))
        first, second, greeting = await asyncio.gather(*calls)
        html = PAGE.format(first=first["name"], second=second["name"], **greeting)
        return HTMLResponse(html)

    return app


def serve(role: str) -> None:
    """uvicorn on uvloop and httptools, as the chassis runs it; mTLS on the callees."""
    edge = role == "edge"
    config = uvicorn.Config(
        edge_app() if edge else api_app(),
        host=LOOPBACK,
        port=int(os.environ["PORT"]),
        loop="uvloop",
        http="httptools",
        ssl_context_factory=None if edge else lambda *_: server_context(*_tls_files()),
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    serve(sys.argv[1])
