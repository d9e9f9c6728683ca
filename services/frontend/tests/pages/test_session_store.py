"""Valkey (the session store) unreachable: a friendly 503 page with Retry-After, never a 500.

The frontend reaches the real test Valkey through a small TCP relay the test can cut, so the
app starts normally and then loses its store, as it would when Valkey goes away in operation.
"""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest


class Relay:
    """A TCP relay to Valkey; `cut()` closes it and every connection through it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            await self.server.wait_closed()
            self.server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            self.writers.discard(writer)


@pytest.fixture
async def relay(backing) -> AsyncIterator[Relay]:
    target = urlsplit(backing.redis_url("frontend"))
    found = Relay(target.hostname or "127.0.0.1", target.port or 6379)
    await found.start()
    yield found
    await found.cut()


@pytest.fixture
def redis_url(redis_url: str, relay: Relay) -> str:
    """The frontend's Valkey URL (its ACL user), through the relay."""
    parts = urlsplit(redis_url)
    return parts._replace(
        netloc=f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{relay.port}"
    ).geturl()


async def test_pages_work_through_the_relay(shop: httpx.AsyncClient):
    assert (await shop.get("/")).status_code == 200


async def keep_a_session(shop: httpx.AsyncClient, audit) -> None:
    """Choose a currency: from then on this visitor has a session in Valkey."""
    page = audit((await shop.get("/")).text)
    token = next(f["value"] for f in page.all("input") if f.get("name") == "csrf_token")
    answer = await shop.post("/currency", data={"csrf_token": token, "currency": "EUR"})
    assert answer.status_code == 303
    assert "session" in shop.cookies


@pytest.mark.parametrize("path", ["/", "/product/ceramic-pour-over", "/cart", "/sign-in"])
async def test_valkey_down_is_a_503_page(
    shop: httpx.AsyncClient, relay: Relay, audit, capsys: pytest.CaptureFixture[str], path
):
    await keep_a_session(shop, audit)
    await relay.cut()
    capsys.readouterr()

    response = await shop.get(path)

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"]
    assert response.headers["cache-control"] == "no-store"
    page = audit(response.text)
    assert page.heading == "The shop is taking a short break"
    assert any(a["href"] == path for a in page.all("a"))  # try again
    assert not page.all("form") or all(f.get("method") == "get" for f in page.all("form"))
    assert "Traceback" not in response.text and "Error:" not in response.text
    logged = capsys.readouterr().out
    assert "session store unavailable" in logged
    assert "Traceback" not in logged


@pytest.mark.parametrize("path", ["/", "/product/ceramic-pour-over", "/cart", "/sign-in"])
async def test_with_valkey_down_a_visitor_without_a_session_still_browses(
    shop: httpx.AsyncClient, relay: Relay, audit, path
):
    """Nothing is stored for a visitor who only looks, so nothing needs Valkey."""
    await relay.cut()

    response = await shop.get(path)

    assert response.status_code == 200
    assert "session" not in shop.cookies


async def test_valkey_lost_before_the_save_is_a_503_page(
    shop: httpx.AsyncClient, relay: Relay, audit
):
    """The route ran, but the change it made (the first one: a new session) could not be
    kept: saying so beats a page that pretends it was."""
    page = audit((await shop.get("/")).text)
    token = next(f["value"] for f in page.all("input") if f.get("name") == "csrf_token")
    await relay.cut()

    response = await shop.post("/currency", data={"csrf_token": token, "currency": "EUR"})

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert "session=" not in response.headers.get("set-cookie", "")
    assert audit(response.text).heading == "The shop is taking a short break"
    assert "Traceback" not in response.text


async def test_valkey_down_is_logged_in_the_requests_context(
    shop: httpx.AsyncClient, relay: Relay, audit, capsys: pytest.CaptureFixture[str]
):
    """The session middleware runs inside the chassis's request context: its 503 carries
    the request id, and its warning and the canonical line name that id and a trace."""
    await keep_a_session(shop, audit)
    await relay.cut()
    capsys.readouterr()

    response = await shop.get("/")

    assert response.status_code == 503
    request_id = response.headers.get("x-request-id")
    assert request_id
    lines = [logged_fields(line) for line in capsys.readouterr().out.splitlines()]
    warning = next(line for line in lines if line.get("event") == "session store unavailable")
    canonical = next(line for line in lines if line.get("event") == "request")
    assert str(canonical["status"]) == "503"
    for line in (warning, canonical):
        assert line["request_id"] == request_id, line
        assert re.fullmatch(r"[0-9a-f]{32}", str(line["trace_id"])), line


def logged_fields(line: str) -> dict[str, object]:
    """A log line's fields, whether JSON or structlog's console form (logging left
    unconfigured, or configured for JSON by an earlier test in this process)."""
    if line.startswith("{"):
        fields: dict[str, object] = json.loads(line)
        return fields
    found: dict[str, object] = dict(re.findall(r"(\w+)=('[^']*'|\S+)", line))
    event = re.match(r"\S+ \S+ \[\w+\s*\] (.+?)\s{2,}", line)
    return {**found, "event": event[1]} if event else found


async def test_an_order_placed_as_valkey_is_lost_is_still_shown(
    shop: httpx.AsyncClient, relay: Relay, orders, audit, capsys: pytest.CaptureFixture[str]
):
    """orders placed the order, then the session could not be saved: the shopper is sent
    to the order all the same. "Try again" would hide an order that exists (and a second
    "Place order" would need a session that is gone). Found by
    tests/system/test_backing_restarts_under_load.py."""
    from .test_cart import add
    from .test_checkout import place

    await add(shop, audit)
    orders.meanwhile = relay.cut  # Valkey goes while orders is placing the order
    capsys.readouterr()

    response = await place(shop, audit)

    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/orders/")
    assert [o["status"] for o in orders.orders.values()] == ["confirmed"]
    assert "session=" not in response.headers.get("set-cookie", "")  # nothing was kept
    assert "session not saved; the answer goes out" in capsys.readouterr().out
