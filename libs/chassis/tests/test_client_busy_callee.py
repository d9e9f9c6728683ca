"""A busy callee is not a dead one: a new TLS connection to a callee whose event loop is
held up for longer than a second is made, and the call answered, within the call's budget.

The callee's TLS handshake runs in its own event loop, so it waits behind whatever that
loop is doing: a burst of checkouts made every handshake to orders wait 1-3 s on a shared
CI machine. When that wait counted as a failed connect (1 s), the calls failed, the
breaker opened and a shopper's checkout said "may have been placed" without orders ever
seeing it. The server here is aiohttp with TLS in a thread of its own; the certificates
come from the runner's issuer."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from chassis import Credentials, ServiceClient, metrics
from chassis.testing import ServiceKeys
from mosaic.pki import issue_ca, issue_leaf, write_leaf_files

from .conftest import free_port

BUSY_SECONDS = 1.5  # longer than the old connect bound (1 s), well inside the budget (5 s)


class BusyCallee:
    """A TLS server on its own loop; GET /busy holds that loop for BUSY_SECONDS."""

    def __init__(self, folder: Path) -> None:
        ca = issue_ca("Mosaic test")
        (folder / "ca.pem").write_bytes(ca.cert_pem)
        self.ca_file = folder / "ca.pem"
        cert, key = write_leaf_files(issue_leaf(ca, "orders"), folder / "orders")
        self.client_files = write_leaf_files(issue_leaf(ca, "frontend"), folder / "frontend")
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.busy = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def _busy(self, _: web.Request) -> web.Response:
        self.busy.set()
        time.sleep(BUSY_SECONDS)  # noqa: ASYNC251 (the point: this loop can do nothing else)
        return web.Response(text="done")

    async def _quick(self, _: web.Request) -> web.Response:
        return web.Response(text="quick")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/busy", self._busy)
        app.router.add_get("/quick", self._quick)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.context)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> BusyCallee:
        self._thread.start()
        assert self._ready.wait(10), "the TLS callee did not start"
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def callee(tmp_path: Path) -> Iterator[BusyCallee]:
    with BusyCallee(tmp_path) as running:
        yield running


async def test_a_new_connection_waits_for_a_busy_callees_handshake(
    callee: BusyCallee, tmp_path: Path
) -> None:
    keys = ServiceKeys(tmp_path / "keys", ["frontend"])
    cert, key = callee.client_files
    credentials = Credentials(
        "frontend",
        transport="mtls",
        tls_files=(cert, key, callee.ca_file),
        signing_key=keys.key_file("frontend"),
        trust_dir=keys.trust_dir,
    )
    client = ServiceClient("orders", callee.url, credentials=credentials)
    await client.open()
    before = timed_out()
    try:
        holding = asyncio.create_task(client.request("GET", "/busy"))
        await asyncio.to_thread(callee.busy.wait, 5)  # the callee's loop is held from now
        started = time.monotonic()
        # Its own connection (the first one is in use): the handshake waits for the loop.
        quick = await client.request("GET", "/quick")
        waited = time.monotonic() - started
        assert (await holding).status == 200
    finally:
        await client.close()
    assert quick.status == 200, quick.status
    assert quick.body == b"quick"
    assert waited > 1.0, f"the handshake did wait for the callee's loop ({waited:.2f} s)"
    # At the first attempt: a wait for a busy callee is no failure (nor a breaker's count).
    assert timed_out() == before


def timed_out() -> float:
    """Attempts from frontend to orders that ended in a timeout or found it unreachable."""
    return sum(
        metrics.REGISTRY.get_sample_value(
            "mosaic_http_client_requests_total",
            {"service": "frontend", "callee": "orders", "outcome": outcome, "attempt": attempt},
        )
        or 0.0
        for outcome in ("timeout", "unreachable")
        for attempt in ("1", "2", "3+")
    )
