"""Events do not stay forever and failures do not repeat forever (issue 11, item 7), in
the wiring of a real `mosaic up`: the relay trims events:orders under orders' own broker
ACL, only below what every consumer group acknowledged; notifications moves an event it
cannot handle to events:orders:dead under its own ACL; `mosaic admin dead-letters` lists
and replays dead letters, and lists and retries an outbox event the relay set aside
without holding up the events after it.

The shop runs with EVENTS_RETENTION_SECONDS=1 and EVENTS_TRIM_SECONDS=1 (the runner
passes such variables on to every process; only orders' relay reads them).
"""

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
from mosaic.backing.secrets import Secrets
from mosaic.ports import free_port
from mosaic_testing import (
    Guest,
    Shopper,
    UpProcess,
    mosaic,
    process_environment,
    wait_until,
)

pytestmark = pytest.mark.system

STREAM, DEAD = "events:orders", "events:orders:dead"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    home = tmp_path_factory.mktemp("retention") / "home"
    retention = {"EVENTS_RETENTION_SECONDS": "1", "EVENTS_TRIM_SECONDS": "1"}
    with UpProcess(home, free_port(), extra_env=retention) as up:
        up.wait_ready(timeout=180)
        yield up


@pytest.fixture(scope="module")
def broker(shop: UpProcess) -> Iterator[redis.Redis]:
    """The embedded Valkey as its admin (to look at streams and groups)."""
    home = Path(shop.env["MOSAIC_HOME"])
    password = Secrets(home / "secrets.json").password("valkey/admin")
    port = shop.processes()["valkey"]["port"]
    client = redis.Redis.from_url(f"redis://admin:{password}@127.0.0.1:{port}/0")
    yield client
    client.close()


def place_order(shop: UpProcess) -> str:
    """A guest's confirmed order; its id, once notifications has mailed it."""
    with (
        shop.client("catalog", "cart") as catalog,
        shop.client("cart", "frontend") as cart,
        shop.client("orders", "frontend") as orders,
    ):
        product = catalog.get("/v1/products", params={"limit": 1}).json()["items"][0]["id"]
        guest = Guest(cart, orders)
        guest.fill_cart({product: 1})
        email = f"retention-{uuid.uuid4().hex[:8]}@example.com"
        answer = guest.place(Guest.checkout(email))
    assert answer.status_code == 201, answer.text
    wait_until(lambda: any(email in m["to"] for m in shop.mail()), 60, f"the mail to {email}")
    return str(answer.json()["id"])


def entry_of(broker: redis.Redis, order_id: str) -> str | None:
    """The id of the order's OrderConfirmed in events:orders, while it is there."""
    entries: Any = broker.xrange(STREAM)
    for entry_id, fields in entries:
        if json.loads(fields[b"event"])["data"].get("order_id") == order_id:
            return str(entry_id.decode())
    return None


def admin(shop: UpProcess, *args: str) -> Any:
    result = mosaic("admin", "dead-letters", *args, env=shop.env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout) if "--json" in args else result.stdout


@pytest.mark.timeout(300)
def test_the_stream_is_trimmed_only_once_every_group_has_acknowledged(
    shop: UpProcess, broker: redis.Redis
) -> None:
    first = place_order(shop)
    # A second consumer group, e.g. a new service deployed a moment ago, that has not
    # read anything after this point yet: what comes next must wait for it.
    broker.xgroup_create(STREAM, "audit", id="$")
    second = place_order(shop)
    # notifications acknowledged both; the first is older than every group's position.
    wait_until(lambda: entry_of(broker, first) is None, 30, "the first event trimmed")
    kept = entry_of(broker, second)
    assert kept is not None, "trimmed although the audit group had not read it"
    broker.xreadgroup("audit", "a1", {STREAM: ">"})
    assert entry_of(broker, second) == kept  # read, but not acknowledged yet
    broker.xack(STREAM, "audit", kept)
    wait_until(lambda: entry_of(broker, second) is None, 30, "the second event trimmed")
    broker.xgroup_destroy(STREAM, "audit")


@pytest.mark.timeout(300)
def test_a_verification_link_leaves_events_accounts_once_notifications_has_it(
    shop: UpProcess, broker: redis.Redis
) -> None:
    """accounts' relay trims its stream as orders' does: the link's token in an
    AccountRegistered lives in Valkey only until notifications has acknowledged it."""
    email = f"retention-{uuid.uuid4().hex[:8]}@example.com"
    with Shopper(shop.wait_ready()) as shopper:  # the line printed once ready
        shopper.sign_up("Rosalind Franklin", email, "correct horse battery staple", mail=shop.mail)

    def carrying_the_address() -> list[Any]:
        entries: Any = broker.xrange("events:accounts")
        return [entry for entry in entries if email.encode() in entry[1][b"event"]]

    # The mail was sent, so notifications took the event; it leaves once acknowledged.
    wait_until(lambda: not carrying_the_address(), 30, "the sign-up's event trimmed")


@pytest.mark.timeout(300)
def test_an_event_notifications_cannot_handle_is_dead_lettered_and_replayed(
    shop: UpProcess, broker: redis.Redis
) -> None:
    """An OrderConfirmed v1 without what v1 promises (a version notifications does not
    read is skipped instead: its producer publishes v1 beside it)."""
    event_id = str(uuid.uuid4())
    envelope = {
        "id": event_id,
        "type": "OrderConfirmed",
        "version": 1,
        "occurred_at": "2030-01-01T00:00:00+00:00",
        "data": {"order_id": str(uuid.uuid4())},  # no e-mail, no lines, no total: malformed
    }
    broker.xadd(STREAM, {"event": json.dumps(envelope)})

    def letters() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = admin(shop, "list", "--json")["dead_letters"]
        return [letter for letter in found if letter["event_id"] == event_id]

    wait_until(lambda: len(letters()) == 1, 60, "the event in the dead letters")
    [letter] = letters()
    assert letter["reason"].startswith("malformed data: email: ")
    assert (letter["stream"], letter["group"]) == (STREAM, "notifications")
    assert (letter["event_type"], letter["event_version"]) == ("OrderConfirmed", 1)
    assert "order_id" not in json.dumps(letter)  # the listing shows no event data

    # Replayed: back onto events:orders, to the group again (which still cannot handle it).
    out = admin(shop, "replay", letter["id"])
    assert f"replayed {letter['id']} onto {STREAM}" in out

    def again() -> bool:
        found = letters()
        return len(found) == 1 and found[0]["id"] != letter["id"]

    wait_until(again, 60, "the replayed event handled (and dead-lettered) again")


@pytest.mark.timeout(300)
async def test_a_poison_outbox_row_is_set_aside_listed_and_retried(shop: UpProcess) -> None:
    later = place_order(shop)  # an order whose event went out normally
    env = process_environment(shop.processes()["orders.web.1"]["pid"])
    connection = await asyncpg.connect(env["DATABASE_URL"])
    try:
        event_id = str(uuid.uuid4())
        # A row no relay can publish (its envelope lacks the type), ahead of new ones.
        await connection.execute(
            "INSERT INTO outbox (event_id, type, version, order_id, payload)"
            " VALUES ($1, 'OrderConfirmed', 1, $2, $3::jsonb)",
            event_id,
            later,
            json.dumps({"id": event_id, "version": 1, "data": {}}),
        )
        after = place_order(shop)  # mailed: not held up by the poison row

        def listed() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = admin(shop, "list", "--json")["outbox"]
            return [row for row in rows if row["event_id"] == event_id]

        wait_until(lambda: len(listed()) == 1, 60, "the poison row set aside")
        [row] = listed()
        assert row["service"] == "orders" and row["attempts"] == 5
        assert row["last_error"] == "invalid event: type: Field required"  # where, what: no values
        unpublished = await connection.fetch(
            "SELECT event_id FROM outbox WHERE published_at IS NULL"
        )
        assert [str(r["event_id"]) for r in unpublished] == [event_id], f"held up: {after}"

        await connection.execute(
            "UPDATE outbox SET payload = jsonb_set(payload, '{type}', '\"OrderCancelled\"')"
            " WHERE event_id = $1",
            event_id,
        )
        out = admin(shop, "retry-outbox", "orders", event_id)
        assert "0 outbox event(s) of orders still set aside" in out

        async def published() -> bool:
            return bool(
                await connection.fetchval(
                    "SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1", event_id
                )
            )

        for _ in range(300):
            if await published():
                break
            await asyncio.sleep(0.1)
        assert await published()
    finally:
        await connection.close()
