"""Every order of the run, end to end, and what its shopper was told: the violations.

What the services hold is read through their own APIs as the operator (orders' rows by
e-mail from its database, since no API lists every order); the rules are a pure function
of that and of the shoppers' records, so they are unit-tested without a shop.

The rules (issue 11's acceptance, and the guarantees it found holding):
- every order ended (confirmed or cancelled), one order at most per checkout;
- confirmed <=> exactly one charge with money kept, one active shipment, one e-mail (one
  Message-ID: a second copy of the same message is notifications' one documented window,
  counted apart and reported, not a second e-mail);
- cancelled <=> no money kept, no active shipment, no e-mail;
- a refused card (declined, processor timeout) that payments refused shows its reason;
  it is never shown as "unavailable";
- nobody whose order ended confirmed was told "unavailable" without "may have been
  placed", nor that it was refused or not placed;
- a good card's order that ended cancelled was told so (a refusal, "no order was placed",
  or its order page saying cancelled), never "confirmed".
"""

import asyncio
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from mosaic_testing import UpProcess
from mosaic_testing.chaos.answers import GOOD, REASONS, Checkout, OrderPage, Said

ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+")


@dataclass
class Order:
    """One order as orders, payments, shipping and the mailbox have it."""

    id: str
    email: str
    step: str
    paid: int = 0  # charges that kept money (succeeded, not refunded in full)
    net: int = 0  # minor units kept over all its charges
    refused: list[str] = field(default_factory=list)  # failure codes of failed charges
    shipments: int = 0  # active (not cancelled)
    emails: int = 0  # distinct messages (Message-IDs)
    copies: int = 0  # messages delivered more than once: the copies beyond the first


@dataclass(frozen=True)
class Violation:
    rule: str
    email: str
    order_id: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def orders_in(database_url: str) -> list[Order]:
    """Every order in orders' database (the run's shop is its own: all are the run's)."""

    async def read() -> list[Order]:
        connection = await asyncpg.connect(database_url)
        try:
            rows = await connection.fetch("SELECT id, email, step FROM orders")
        finally:
            await connection.close()
        return [Order(str(row["id"]), str(row["email"]), str(row["step"])) for row in rows]

    return asyncio.run(read())


def read_ledgers(up: UpProcess, orders: list[Order]) -> None:
    """Fill in each order's charges (payments) and shipments (shipping)."""
    with up.client("payments") as payments, up.client("shipping") as shipping:
        for order in orders:
            reference = {"reference": f"order:{order.id}"}
            found = payments.get("/v1/charges", params=reference)
            found.raise_for_status()
            charges: list[dict[str, Any]] = found.json()["charges"]
            order.net = sum(int(c["net"]["amount"]) for c in charges)
            order.paid = sum(1 for c in charges if int(c["net"]["amount"]) > 0)
            order.refused = [str((c.get("failure") or {}).get("code")) for c in charges
                             if c["status"] == "failed"]  # fmt: skip
            shipped = shipping.get("/v1/shipments", params=reference)
            shipped.raise_for_status()
            items: list[dict[str, Any]] = shipped.json()["items"]
            order.shipments = sum(1 for s in items if s["status"] != "cancelled")


def count_emails(orders: list[Order], mail: list[dict[str, Any]]) -> None:
    """How many messages the dev mailbox holds for each order's address, and how many
    copies beyond the first of one of them.

    A message is its Message-ID (a mail without one counts as a message of its own).
    notifications sends a message a second time, with the same Message-ID, in one window
    only: the SMTP server accepted it and Postgres went away before the inbox's commit
    (docs/architecture.md, "E-mail once"); a restart of Postgres under load can hit it. Mail
    clients show those copies as one message; another Message-ID is another e-mail."""
    copies: Counter[tuple[str, str]] = Counter()
    for number, message in enumerate(mail):
        ident = str(message.get("message_id") or f"(none: #{number})")
        for to in message.get("to") or []:
            for address in ADDRESS.findall(str(to)):
                copies[address, ident] += 1
    for order in orders:
        mine = [count for (address, _), count in copies.items() if address == order.email]
        order.emails, order.copies = len(mine), sum(mine) - len(mine)


def ledger_violations(orders: list[Order]) -> list[Violation]:
    """What the services disagree on about an order."""
    found: list[Violation] = []
    for order in orders:

        def broken(rule: str, detail: str, order: Order = order) -> None:
            found.append(Violation(rule, order.email, order.id, detail))

        if order.step not in ("confirmed", "cancelled"):
            broken("not-ended", f"still {order.step}")
            continue
        confirmed = order.step == "confirmed"
        if (order.paid, order.net > 0) != ((1, True) if confirmed else (0, False)):
            broken("charge", f"{order.step} with {order.paid} charge(s) kept, net {order.net}")
        if order.shipments != int(confirmed):
            broken("shipment", f"{order.step} with {order.shipments} active shipment(s)")
        if order.emails != int(confirmed):
            broken("email", f"{order.step} with {order.emails} e-mail(s)")
    return found


def violations(checkouts: list[Checkout], orders: list[Order]) -> list[Violation]:
    """Every rule broken, by the services (ledger) or by what a shopper was told."""
    found = ledger_violations(orders)
    by_email: dict[str, list[Order]] = {}
    for each in orders:
        by_email.setdefault(each.email, []).append(each)
    emails = {checkout.email for checkout in checkouts}
    for stray in orders:
        if stray.email not in emails:
            found.append(Violation("orphan-order", stray.email, stray.id, "no shopper's"))
    for checkout in checkouts:
        mine = by_email.get(checkout.email, [])
        if len(mine) > 1:
            found.append(Violation("duplicate-order", checkout.email, mine[1].id,
                                   f"{len(mine)} orders for one checkout"))  # fmt: skip
        ended = mine[0] if mine else None
        for rule, detail in told_wrong(checkout, ended):
            found.append(Violation(rule, checkout.email, ended.id if ended else "", detail))
    return found


def told_wrong(checkout: Checkout, order: Order | None) -> list[tuple[str, str]]:
    """The rules on what one shopper was told, given how their order ended (None: none)."""
    seen = f"{checkout.kind} card; said {'→'.join(checkout.said)}"
    if checkout.order_page:
        seen += f"; order page {'→'.join(checkout.order_page)}"
    if checkout.reason_shown:
        seen += f"; shown {checkout.reason_shown!r}"
    if checkout.detail:
        seen += f"; page {checkout.detail!r}"
    wrong: list[tuple[str, str]] = []
    ended = order.step if order else "none"
    if checkout.card != GOOD:
        # With no order, payments never saw the card: "the shop is unavailable" (Valkey
        # restarting under the sessions, say) is then the truth, not a hidden refusal.
        if Said.UNAVAILABLE in checkout.said and order is not None:
            wrong.append(("refusal-shown-as-unavailable", seen))
        elif order and order.refused and REASONS[checkout.card] not in checkout.reason_shown:
            wrong.append(("refusal-without-reason", f"{seen}; payments: {order.refused}"))
    if ended == "confirmed":
        if Said.UNAVAILABLE in checkout.said and Said.MAY_BE_PLACED not in checkout.said:
            wrong.append(("confirmed-told-unavailable", seen))
        elif checkout.last in (Said.REFUSED, Said.NOT_PLACED, Said.OTHER):
            wrong.append(("confirmed-told-not-placed", seen))
    elif checkout.card == GOOD and ended in ("cancelled", "none"):  # else: not-ended
        if OrderPage.CONFIRMED in checkout.order_page:
            wrong.append(("cancelled-told-confirmed", f"{seen}; ended {ended}"))
        elif not told_not_placed(checkout):
            wrong.append(("cancelled-not-told", f"{seen}; ended {ended}"))
    if order is None and checkout.last is Said.PLACED:
        wrong.append(("placed-without-order", seen))
    return wrong


def told_not_placed(checkout: Checkout) -> bool:
    """Whether the shopper's last word was that the order did not go through."""
    if checkout.last is Said.PLACED:
        return bool(checkout.order_page) and checkout.order_page[-1] is OrderPage.CANCELLED
    return checkout.last in (Said.REFUSED, Said.NOT_PLACED, Said.UNAVAILABLE)
