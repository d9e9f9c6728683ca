"""A callee replica that drains (a rolling upgrade, `mosaic upgrade`) closes the keep-alive
connections its callers pooled; a call that meets one as it closes must go again on a fresh
connection when it is safe to repeat (GET, or a POST with an Idempotency-Key), and fail
otherwise. The callee here is a raw HTTP/1.1 server that answers the first request of its
first connection keep-alive, then closes that connection on the next request without a
word, as a draining server's close meets a request already on its way; every later
connection is answered. (aiohttp itself sends a GET or PUT again when a reused connection
drops it; a POST with a key goes again by the chassis' retry.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chassis import Credentials, ServiceClient, UpstreamUnavailable
from chassis.testing import ServiceKeys

from .conftest import free_port

ANSWER = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
)


@dataclass
class ClosingCallee:
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)  # request lines, in order

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first_connection = self.connections == 1
        answered = 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests.append(head.split(b"\r\n", 1)[0])
                if first_connection and answered == 1:
                    break  # closed under the caller, the request unanswered
                writer.write(ANSWER)
                await writer.drain()
                answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def callee() -> AsyncIterator[ClosingCallee]:
    state = ClosingCallee()
    port = free_port()
    server = await asyncio.start_server(state.serve, "127.0.0.1", port)
    state.url = f"http://127.0.0.1:{port}"
    yield state
    server.close()


@pytest.fixture
async def client(callee: ClosingCallee, tmp_path: Path) -> AsyncIterator[ServiceClient]:
    keys = ServiceKeys(tmp_path, ["caller"])
    credentials = Credentials(
        "caller",
        transport="mesh",
        tls_files=None,
        signing_key=keys.key_file("caller"),
        trust_dir=keys.trust_dir,
    )
    client = ServiceClient("callee", callee.url, request_timeout=2.0, credentials=credentials)
    await client.open()
    yield client
    await client.close()


@pytest.mark.parametrize(("method", "key"), [("GET", None), ("PUT", None), ("POST", "checkout-1")])
async def test_a_repeatable_call_goes_again_on_a_fresh_connection(
    client: ServiceClient, callee: ClosingCallee, method: str, key: str | None
) -> None:
    assert (await client.request("GET", "/v1/warm")).status == 200  # pooled, keep-alive
    response = await client.request(method, "/v1/call", json={"a": 1}, idempotency_key=key)
    assert response.status == 200
    assert callee.connections == 2  # the second try came on a new connection
    assert callee.requests[-2:] == [f"{method} /v1/call HTTP/1.1".encode()] * 2


async def test_a_post_without_a_key_is_not_sent_twice(
    client: ServiceClient, callee: ClosingCallee
) -> None:
    assert (await client.request("GET", "/v1/warm")).status == 200
    with pytest.raises(UpstreamUnavailable):
        await client.request("POST", "/v1/call", json={"a": 1})
    assert callee.requests.count(b"POST /v1/call HTTP/1.1") == 1
