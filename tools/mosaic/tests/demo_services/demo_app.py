"""A stand-in service for the runner's tests: the runner contract and nothing else.

GET / on $PORT (bound with SO_REUSEPORT) answers JSON about this process: its pid, the
environment the runner gave it, a Valkey counter and the rows its release wrote to Postgres.
$OPS_PORT answers /readyz and /healthz. SIGTERM stops it with exit code 0. A missing setting
exits 78. SIGUSR1 wedges it: its event loop blocks for good, so both ports still accept
connections (the kernel does) but never answer, as a deadlocked process.
Like a chassis service, a non-edge one requires mTLS on $PORT when callers are told to use
https (the runner's switch), with the certificate files the runner hands it.
"""

import asyncio
import json
import os
import signal
import socket
import ssl
import sys
import time
import tomllib
from pathlib import Path

from mosaic.plan import callee_scheme

SHOWN = (
    "PORT",
    "OPS_PORT",
    "HOST",
    "MOSAIC_SERVICE",
    "MOSAIC_PROCESS",
    "MOSAIC_REPLICA",
    "TRANSPORT_SECURITY",
    "TLS_CERT_FILE",
    "TLS_KEY_FILE",
    "TLS_CA_FILE",
    "SERVICE_SIGNING_KEY_FILE",
    "SERVICE_TRUST_DIR",
)


def server_tls() -> ssl.SSLContext | None:
    edge = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mosaic"].get("edge")
    if edge or callee_scheme(os.environ.get("TRANSPORT_SECURITY", "mesh")) != "https":
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=os.environ["TLS_CA_FILE"])
    context.load_cert_chain(os.environ["TLS_CERT_FILE"], os.environ["TLS_KEY_FILE"])
    return context


async def main() -> None:
    try:
        port, ops_port = int(os.environ["PORT"]), int(os.environ["OPS_PORT"])
        if os.environ.get("DEMO_BAD_SETTING") == os.environ["MOSAIC_SERVICE"]:
            raise KeyError("DEMO_BAD_SETTING")
    except KeyError as missing:
        print(f"bad or missing setting {missing}", flush=True)
        sys.exit(78)
    db = cache = None
    if "DATABASE_URL" in os.environ:
        import asyncpg

        db = await asyncpg.connect(os.environ["DATABASE_URL"])
    if "REDIS_URL" in os.environ:
        import redis.asyncio as aioredis

        cache = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    service = os.environ["MOSAIC_SERVICE"]

    async def page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in request[1:] if ": " in line)
        body = {
            "pid": os.getpid(),
            "service_token": {k.lower(): v for k, v in headers.items()}.get("x-service-token"),
            "env": {k: v for k, v in os.environ.items() if k in SHOWN or k.endswith("_URL")},
            "hits": await cache.incr(f"{service}:hits") if cache else None,
            "releases": await db.fetchval("SELECT count(*) FROM releases") if db else None,
        }
        data = json.dumps(body).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + data)
        await writer.drain()
        writer.close()

    async def ops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((os.environ["HOST"], port))
    web = await asyncio.start_server(page, sock=sock, ssl=server_tls())
    probe = await asyncio.start_server(ops, "127.0.0.1", ops_port)
    print(json.dumps({"event": "started", "level": "info", "port": port}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, time.sleep, 3600)
    await stop.wait()
    web.close()
    probe.close()
    print("stopped", flush=True)


asyncio.run(main())
