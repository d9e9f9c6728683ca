"""The outbox drill: 200 checkouts, and while they run the outbox relay is killed, then
Valkey (the broker) is killed; the runner restarts both. Afterwards every confirmed order
has exactly one confirmation e-mail in the dev mailbox and no cancelled order has any.

Guests check out as the frontend does for them (their cart at cart, the checkout at
orders, as `frontend`), 8 at a time, every sixth with a card that is declined so that
there are cancelled orders too. An order's e-mail address is its own, so the mailbox
says which order got what. orders' operator view shows each order's outbox rows, which
must all be published in the end.
"""

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mosaic.ports import free_port
from mosaic.testing import Guest, UpProcess, wait_until

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
    with UpProcess(home, free_port()) as up:
        up.wait_ready(timeout=180)
        yield up


def kill_and_wait_for_restart(up: UpProcess, name: str) -> None:
    """SIGKILL the process `name` of `mosaic up`; return once the runner has it ready again."""
    before = up.processes()[name]
    assert before["state"] == "ready", before
    os.kill(before["pid"], signal.SIGKILL)

    def restarted() -> bool:
        now = up.processes()[name]
        return now["pid"] not in (None, before["pid"]) and now["state"] == "ready"

    wait_until(restarted, 60, f"{name} restarted by the runner and ready")


def place(guest: Guest, body: dict[str, Any], key: str) -> str:
    """Check out, sending the same checkout again (same key) after a failed exchange, as the
    shop does when the shopper reloads; the order's id (every answer names it)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            answer = guest.place(body, key)
            if "location" in answer.headers:  # ended, or processing (the recovery's then)
                return answer.headers["location"].rsplit("/", 1)[1]
            why = f"{answer.status_code} {answer.text[:300]}"
        except httpx.TransportError as error:
            why = repr(error)
        assert time.monotonic() < deadline, f"no answer naming the order: {why}"
        time.sleep(1)


@pytest.mark.timeout(600)  # 200 real checkouts on a small machine, then their e-mails
def test_with_the_relay_and_valkey_killed_every_confirmed_order_has_one_email(
    up: UpProcess,
) -> None:
    with up.client("catalog", "cart") as catalog:
        products = [p["id"] for p in catalog.get("/v1/products").json()["items"]][:4]
    run = uuid.uuid4().hex[:8]
    answered = 0
    counted = threading.Condition()

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

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            futures = [pool.submit(checkout, n) for n in range(CHECKOUTS)]
            answered_at_least(KILL_RELAY_AFTER)
            kill_and_wait_for_restart(up, "orders.relay.1")
            answered_at_least(KILL_VALKEY_AFTER)
            kill_and_wait_for_restart(up, "valkey")
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
        assert all(status[p.order_id] == "cancelled" for p in placed if p.card == DECLINED)
        assert len(confirmed) >= CHECKOUTS // 2, "most orders with a good card go through"

        def all_published() -> bool:
            return all(e["published_at"] for p in placed for e in view(p.order_id)["events"])

        wait_until(all_published, 120, "the relay published every outbox row")

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
    time.sleep(5)  # a duplicate (a redelivered event sent again) would arrive about now
    counts = mailed()
    doubled = {p.email: counts[p.email] for p in confirmed if counts[p.email] != 1}
    assert not doubled, f"confirmed orders mailed more than once: {doubled}"
    wrongly = [p.email for p in cancelled if p.email in counts]
    assert not wrongly, f"cancelled orders mailed: {wrongly}"
