"""Admission control's early refusal, on a real server (uvicorn on the chassis's protocol)
and raw connections: past the bound a request is answered 503 by the protocol, before it
becomes an ASGI request; its body is dropped and the connection stays in step for the
next request; what the protocol leaves to the middleware is still refused there."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from chassis import ServiceSettings, callers, create_app, metrics
from chassis.security import Credentials
from chassis.server import api_server, listening_socket
from chassis.testing import ServiceKeys
from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send

router = APIRouter(dependencies=[callers("tester")])
release = asyncio.Event()


@router.get("/v1/hold")
async def hold() -> dict[str, str]:
    await release.wait()
    return {"status": "released"}


@router.get("/v1/quick")
async def quick() -> dict[str, str]:
    return {"status": "quick"}


@router.get("/healthz")
async def healthz() -> dict[str, str]:  # as a platform probing the API port would ask
    return {"status": "ok"}


@dataclass
class Seen:
    """The ASGI app as the server calls it: which paths reached it."""

    app: ASGIApp
    paths: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@dataclass
class Server:
    port: int
    seen: Seen
    token: str  # the caller's proof, as header lines
    service: str


@pytest.fixture
async def server(settings: ServiceSettings, keys: ServiceKeys) -> AsyncIterator[Server]:
    release.clear()
    settings = settings.model_copy(update={"max_in_flight": 1, "shed_retry_after_seconds": 2})
    app = create_app(settings, routers=[router])
    seen = Seen(app)
    uvicorn = api_server(seen, settings, Credentials.from_settings(settings), app.state.admission)
    sock = listening_socket("127.0.0.1", 0)
    serving = asyncio.create_task(uvicorn.serve(sockets=[sock]))
    for _ in range(500):  # uvicorn says when it listens; 5 s at most
        if uvicorn.started:
            break
        await asyncio.sleep(0.01)
    proof = keys.headers("tester", settings.service_name)
    token = "\r\n".join(f"{name}: {value}" for name, value in proof.items())
    yield Server(sock.getsockname()[1], seen, token, settings.service_name)
    release.set()
    uvicorn.should_exit = True
    await asyncio.wait_for(serving, 10)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One raw HTTP/1.1 connection: requests written as bytes, answers read one by one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def to(cls, server: Server) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", server.port))

    def send(self, *requests: bytes) -> None:
        self.writer.write(b"".join(requests))

    async def answer(self) -> Answer:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *lines = head.decode().split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines if line)
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(int(status_line.split()[1]), headers, body)

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), 5) == b""

    def close(self) -> None:
        self.writer.close()


def request(server: Server, method: str, path: str, *extra: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", server.token, *extra]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def shed(service: str) -> float:
    return metrics.http_server_shed.labels(service)._value.get()


async def full(server: Server) -> Connection:
    """A connection whose request holds the server's one place until `release`."""
    holder = await Connection.to(server)
    holder.send(request(server, "GET", "/v1/hold"))
    for _ in range(500):
        if "/v1/hold" in server.seen.paths:
            return holder
        await asyncio.sleep(0.01)
    raise AssertionError("the held request never reached the app")


async def test_past_the_bound_the_protocol_refuses_and_the_connection_goes_on(
    server: Server,
) -> None:
    holder = await full(server)
    before = shed(server.service)
    shopper = await Connection.to(server)
    shopper.send(request(server, "GET", "/v1/quick", "Accept: text/html"))
    page = await shopper.answer()
    assert page.status == 503
    assert page.headers["retry-after"] == "2"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "date" in page.headers  # as every answer of uvicorn's has
    assert b"please try again in 2 s" in page.body

    # A refused request with a body: the body is read and dropped, the next one parses.
    shopper.send(request(server, "POST", "/v1/quick", "Content-Type: application/json",
                         body=b'{"a": 1}'))  # fmt: skip
    problem = await shopper.answer()
    assert problem.status == 503
    assert json.loads(problem.body)["type"].endswith("/overloaded")
    # Two pipelined in one write: two refusals, in order.
    shopper.send(request(server, "GET", "/v1/quick"), request(server, "GET", "/v1/quick"))
    assert [(await shopper.answer()).status for _ in range(2)] == [503, 503]
    assert shed(server.service) - before == 4
    assert server.seen.paths == ["/v1/hold"], "no refused request became an ASGI request"

    release.set()
    assert (await holder.answer()).status == 200
    shopper.send(request(server, "GET", "/v1/quick"))
    answered = await shopper.answer()
    assert (answered.status, json.loads(answered.body)) == (200, {"status": "quick"})
    holder.close()
    shopper.close()


async def test_what_the_protocol_leaves_the_middleware_refuses(server: Server) -> None:
    holder = await full(server)
    before = shed(server.service)
    # A probe of the API port is exempt; a request that closes its connection goes the
    # usual way (refused by the middleware, then closed by uvicorn).
    probe = await Connection.to(server)
    probe.send(request(server, "GET", "/healthz"))
    assert (await probe.answer()).status == 200
    leaving = await Connection.to(server)
    leaving.send(request(server, "GET", "/v1/quick", "Connection: close"))
    refused = await leaving.answer()
    assert refused.status == 503
    assert refused.headers["retry-after"] == "2"
    assert await leaving.closed()
    assert shed(server.service) - before == 1
    assert server.seen.paths == ["/v1/hold", "/healthz", "/v1/quick"]
    release.set()
    assert (await holder.answer()).status == 200
    for connection in (holder, probe, leaving):
        connection.close()
