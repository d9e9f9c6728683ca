"""The outbox drill: 200 checkouts, and while they run the outbox relay is killed, then
Valkey (the broker) is killed; the runner restarts both. Afterwards every order with a
good card is confirmed, every order has its event (OrderConfirmed, or OrderCancelled for
the declined) published, every confirmed order has exactly one confirmation e-mail in the
dev mailbox (counted after a redelivery would have sent a second) and no cancelled order
has any.

Each kill must find work left: the relay is paused (SIGSTOP) until orders' outbox holds
unpublished rows, then killed (or, for Valkey, resumed into a dead broker), and the drill
checks how many rows were pending at that moment. A checkout is sent again (same key) only
after a failed exchange; an answer that names no order (a 5xx from orders) fails at once.

Guests check out as the frontend does for them (their cart at cart, the checkout at
orders, as `frontend`), 8 at a time, every sixth with a card that is declined so that
there are cancelled orders too. An order's e-mail address is its own, so the mailbox
says which order got what. orders' operator view shows each order's outbox rows, which
must all be published in the end.
"""

import asyncio
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import (
    FAST_REDELIVERY,
    REDELIVERY_WINDOW,
    Guest,
    UpProcess,
    holds_for,
    process_environment,
    wait_until,
)

# Normal mode only: it kills the relay process alone while the checkouts run; in-process
# the relay shares one process with every service.
pytestmark = pytest.mark.system

CHECKOUTS = 200
CONCURRENCY = 8
KILL_RELAY_AFTER = 40  # checkouts answered
KILL_VALKEY_AFTER = 100
OK = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"


@dataclass
class Placed:
    email: str
    card: str
    order_id: str


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    home = tmp_path_factory.mktemp("checkout-outbox") / "home"
    # The relay is paused on purpose for as long as the rows take to come (PausedRelay); the
    # runner's liveness probe would replace it after 12-17 s, before the drill's own kill.
    env = {**FAST_REDELIVERY, "MOSAIC_LIVENESS": "off"}
    with UpProcess(home, free_port(), extra_env=env) as up:
        up.wait_ready(timeout=180)
        yield up


def wait_for_restart(up: UpProcess, name: str, pid: int) -> None:
    """Return once the runner has started `name` again (not as `pid`) and it is ready."""

    def restarted() -> bool:
        now = up.processes()[name]
        return now["pid"] not in (None, pid) and now["state"] == "ready"

    wait_until(restarted, 60, f"{name} restarted by the runner and ready")


def unpublished(database_url: str) -> int:
    """How many rows orders' outbox holds that the relay has not yet published."""

    async def count() -> int:
        connection = await asyncpg.connect(database_url)
        try:
            found: int = await connection.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            return found
        finally:
            await connection.close()

    return asyncio.run(count())


class PausedRelay:
    """The relay stopped (SIGSTOP); `wait_for_rows` then waits until the outbox holds
    unpublished rows, so whatever is killed next is killed with work left. `pending` is
    how many rows were waiting."""

    def __init__(self, up: UpProcess, database_url: str) -> None:
        self.relay = up.processes()["orders.relay.1"]
        assert self.relay["state"] == "ready", self.relay
        self.pid: int = self.relay["pid"]
        self.database_url = database_url
        os.kill(self.pid, signal.SIGSTOP)
        self.pending = 0

    def wait_for_rows(self) -> None:
        def rows_wait() -> bool:
            self.pending = unpublished(self.database_url)
            return self.pending > 0

        try:
            wait_until(rows_wait, 60, "checkouts left rows in the outbox for the paused relay")
        except BaseException:
            self.resume()
            raise

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


def place(guest: Guest, body: dict[str, Any], key: str) -> str:
    """Check out; the order's id (every answer of orders names it). Sent again with the same
    key only after a failed exchange (as the shop does when the shopper reloads): an answer
    that names no order fails the drill at once, 5xx included."""
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = guest.place(body, key)
        except httpx.TransportError as error:
            assert time.monotonic() < deadline, f"orders unreachable: {error!r}"
            continue
        assert "location" in answer.headers, f"{answer.status_code} {answer.text[:300]}"
        assert answer.status_code in (201, 202, 402), f"{answer.status_code} {answer.text[:300]}"
        return str(answer.headers["location"].rsplit("/", 1)[1])


@pytest.mark.timeout(600)  # 200 real checkouts on a small machine, then their e-mails
def test_with_the_relay_and_valkey_killed_every_confirmed_order_has_one_email(
    up: UpProcess,
) -> None:
    with up.client("catalog", "cart") as catalog:
        products = [p["id"] for p in catalog.get("/v1/products").json()["items"]][:4]
    run = uuid.uuid4().hex[:8]
    answered = 0
    counted = threading.Condition()

    database_url = process_environment(up.processes()["orders.web.1"]["pid"])["DATABASE_URL"]

    with (
        up.client("cart", "frontend", timeout=60) as cart,
        up.client("orders", "frontend", timeout=60) as orders,
        up.client("orders", timeout=30) as admin,
    ):

        def checkout(n: int) -> Placed:
            nonlocal answered
            guest = Guest(cart, orders)
            guest.fill_cart({products[n % len(products)]: 1 + n % 3})
            card = DECLINED if n % 6 == 5 else OK
            email = f"drill-{run}-{n}@example.com"
            order_id = place(guest, Guest.checkout(email, card), f"drill-{run}-{n}")
            with counted:
                answered += 1
                counted.notify_all()
            return Placed(email, card, order_id)

        def answered_at_least(count: int) -> None:
            with counted:
                assert counted.wait_for(lambda: answered >= count, timeout=300), answered

        # The checkouts go in three batches, each sent after a pause, so the rows a paused
        # relay must find come from checkouts placed while it is paused: sent all at once,
        # fast checkouts could all be answered before a pause, leaving none to find.
        with ThreadPoolExecutor(CONCURRENCY) as pool:

            def send(first: int, last: int) -> list[Future[Placed]]:
                return [pool.submit(checkout, n) for n in range(first, last)]

            futures = send(0, KILL_RELAY_AFTER)
            answered_at_least(KILL_RELAY_AFTER)
            paused = PausedRelay(up, database_url)
            futures += send(KILL_RELAY_AFTER, KILL_VALKEY_AFTER)
            paused.wait_for_rows()
            assert paused.pending > 0, "rows left for the relay when it is killed"
            os.kill(paused.pid, signal.SIGKILL)
            wait_for_restart(up, "orders.relay.1", paused.pid)

            answered_at_least(KILL_VALKEY_AFTER)
            valkey = up.processes()["valkey"]
            assert valkey["state"] == "ready", valkey
            paused = PausedRelay(up, database_url)
            futures += send(KILL_VALKEY_AFTER, CHECKOUTS)
            paused.wait_for_rows()
            assert paused.pending > 0, "rows left to publish when Valkey is killed"
            os.kill(valkey["pid"], signal.SIGKILL)
            paused.resume()  # into a dead broker: it must keep the rows until one is back
            wait_for_restart(up, "valkey", valkey["pid"])
            placed = [future.result(timeout=600) for future in futures]

        def view(order_id: str) -> dict[str, Any]:
            found = admin.get(f"/v1/admin/orders/{order_id}")
            assert found.status_code == 200, found.text
            data: dict[str, Any] = found.json()
            return data

        # Orders left processing (a callee was away while Valkey restarted) are the
        # recovery's: run it until every order has ended.
        def all_ended() -> bool:
            views = [view(p.order_id) for p in placed]
            if any(v["order"]["status"] == "processing" for v in views):
                up.run_job("orders", "recover")
                return False
            return True

        wait_until(all_ended, 180, "every order confirmed or cancelled")
        status = {p.order_id: view(p.order_id)["order"]["status"] for p in placed}
        confirmed = [p for p in placed if status[p.order_id] == "confirmed"]
        cancelled = [p for p in placed if status[p.order_id] == "cancelled"]
        assert len(confirmed) + len(cancelled) == CHECKOUTS
        assert len({p.order_id for p in placed}) == CHECKOUTS, "one order per checkout"
        wrong = {p.order_id: status[p.order_id] for p in placed if p.card == DECLINED}
        assert set(wrong.values()) == {"cancelled"}, f"declined cards: {wrong}"
        wrong = {p.order_id: status[p.order_id] for p in placed if p.card == OK}
        assert set(wrong.values()) == {"confirmed"}, f"good cards not confirmed: {wrong}"

        def all_published() -> bool:
            return all(e["published_at"] for p in placed for e in view(p.order_id)["events"])

        wait_until(all_published, 120, "the relay published every outbox row")
        for p in placed:
            kinds = [e["type"] for e in view(p.order_id)["events"]]
            ended = "OrderConfirmed" if status[p.order_id] == "confirmed" else "OrderCancelled"
            assert kinds == [ended], f"order {p.order_id} {status[p.order_id]}: {kinds}"

    def mailed() -> dict[str, int]:
        counts: dict[str, int] = {}
        for mail in up.mail():
            for to in mail["to"]:
                counts[to] = counts.get(to, 0) + 1
        return counts

    wait_until(
        lambda: {p.email for p in confirmed} <= set(mailed()),
        180,
        "a confirmation e-mail for every confirmed order",
    )

    def one_each() -> bool:
        counts = mailed()
        doubled = {p.email: counts[p.email] for p in confirmed if counts[p.email] != 1}
        assert not doubled, f"confirmed orders mailed more than once: {doubled}"
        wrongly = [p.email for p in cancelled if p.email in counts]
        assert not wrongly, f"cancelled orders mailed: {wrongly}"
        return True

    # Over a whole redelivery: an event handled but not acknowledged is handled again by
    # then, and the second e-mail it would send has arrived.
    holds_for(one_each, REDELIVERY_WINDOW, "one e-mail per confirmed order, none if cancelled")
