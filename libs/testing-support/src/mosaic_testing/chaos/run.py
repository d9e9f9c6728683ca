"""The chaos run: shoppers checking out while processes are SIGKILLed, then the verdict.

`run` drives a shop that is already up (`UpProcess`, started with FAST_REDELIVERY so that
a redelivered event has been handled again within REDELIVERY_WINDOW). After the load it
waits on the state, bounded, never a fixed sleep: until every order has ended (running
orders' recovery meanwhile, as the runner does every 30 s), until the services agree on
each (a settling order's late charge is refunded by a later recovery pass), and until
every confirmed order's e-mail has arrived; then it counts e-mails once a redelivery
could have sent a second.
"""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mosaic_testing import REDELIVERY_WINDOW, UpProcess, process_environment
from mosaic_testing.chaos.answers import OrderPage, Said
from mosaic_testing.chaos.checks import (
    Order,
    Violation,
    count_emails,
    ledger_violations,
    orders_in,
    read_ledgers,
    violations,
)
from mosaic_testing.chaos.kills import Chaos, Kill, Killed, kill_on_schedule
from mosaic_testing.chaos.shoppers import Tally, read_order_page, shop_until

SETTLE_SECONDS = 240  # bound on recovery and settling after the load
CHECK_AGAIN_SECONDS = 90  # how long a shopper keeps pressing "Check again"


@dataclass
class Result:
    duration: float
    shoppers: int
    checkouts: int = 0
    orders: int = 0
    setup_failures: int = 0
    setup_reasons: list[str] = field(default_factory=list)  # why, for the first few
    said: dict[str, int] = field(default_factory=dict)  # first answer -> count
    finally_said: dict[str, int] = field(default_factory=dict)  # last answer -> count
    by_card: dict[str, dict[str, int]] = field(default_factory=dict)  # card -> end -> count
    ended: dict[str, int] = field(default_factory=dict)  # order step -> count
    kills: list[Killed] = field(default_factory=list)
    pressed_again: int = 0  # requests a shopper sent once more after a failed connection
    mail_copies: int = 0  # a message delivered again, same Message-ID (checks.count_emails)
    violations: list[Violation] = field(default_factory=list)
    # The checkouts that went other than "placed" or "refused" at once, as the shopper saw.
    eventful: list[dict[str, Any]] = field(default_factory=list)
    settle_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in vars(self).items() if k not in ("kills", "violations")},
            "kills": [vars(kill) for kill in self.kills],
            "violations": [violation.as_dict() for violation in self.violations],
            "violations_by_rule": dict(Counter(v.rule for v in self.violations)),
        }


def run(
    up: UpProcess,
    url: str,
    *,
    duration: float,
    shoppers: int,
    kills: list[Kill | Chaos],
    say: Callable[[str], None] = print,
    presses_again: bool = False,
    until_signalled: bool = False,
) -> Result:
    """Load the shop at `url` for `duration` seconds with `shoppers` while `kills` happen;
    then check every order and every shopper's answer. `presses_again`: shoppers press
    again when a connection fails (`PressingAgain`). `until_signalled`: the load goes on
    past `duration` until the last kill's process is back (a slow machine restarts
    slowly), bounded by six times `duration`."""
    result = Result(duration, shoppers)
    tally, name = Tally(), uuid.uuid4().hex[:6]
    t0 = time.monotonic()
    until = t0 + duration * (6 if until_signalled else 1)
    enough = threading.Event()
    threads = [
        threading.Thread(target=shop_until, args=(url,), daemon=True, kwargs={
            "shopper_no": i, "run": name, "t0": t0, "until": until, "tally": tally,
            "check_again_for": CHECK_AGAIN_SECONDS, "presses_again": presses_again,
            "enough": enough})
        for i in range(shoppers)
    ]  # fmt: skip
    killer = threading.Thread(target=kill_on_schedule, args=(up, kills), daemon=True, kwargs={
        "t0": t0, "duration": duration, "done": result.kills, "say": say})  # fmt: skip
    for thread in [*threads, killer]:
        thread.start()
    while alive := [thread for thread in threads if thread.is_alive()]:
        if until_signalled and not killer.is_alive() and time.monotonic() > t0 + duration:
            enough.set()  # every process signalled and back: the shoppers finish
        alive[0].join(timeout=5)  # a progress line every few seconds; on as soon as all end
        say(f"{time.monotonic() - t0:5.0f} s  {tally.count()} checkouts answered, "
            f"{len(tally.setup_failures)} shoppers short of a page")  # fmt: skip
    killer.join(timeout=None if until_signalled else 120)  # each kill bounded (RESTART_SECONDS)

    settled = time.monotonic()
    database_url = process_environment(up.processes()["orders.web.1"]["pid"])["DATABASE_URL"]
    orders = settle(up, database_url, say, f"chaos-{name}-")
    with httpx.Client(base_url=url, timeout=30) as again:  # where each order page says now
        for checkout in tally.checkouts:
            if checkout.order_link:
                read_order_page(again, checkout)
    result.settle_seconds = round(time.monotonic() - settled, 1)
    result.violations = violations(tally.checkouts, orders)
    summarize(result, tally, orders)
    return result


def settle(
    up: UpProcess, database_url: str, say: Callable[[str], None], run_prefix: str
) -> list[Order]:
    """This run's orders (their e-mail addresses start with `run_prefix`: an earlier run
    in the same shop is not this one's) once they have ended, the services agree on them,
    and their e-mails are in (bounded: what is still wrong at SETTLE_SECONDS is reported as
    a violation)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        orders = [o for o in orders_in(database_url) if o.email.startswith(run_prefix)]
        open_ = [o for o in orders if o.step not in ("confirmed", "cancelled")]
        try:
            read_ledgers(up, orders)
            count_emails(orders, up.mail())
        except httpx.TransportError as error:  # a replica restarting as it was asked
            if time.monotonic() > deadline:
                raise
            say(f"settling: reading the ledgers again ({type(error).__name__})")
            time.sleep(1)
            continue
        wrong = ledger_violations(orders)
        say(f"settling: {len(orders)} orders, {len(open_)} not ended, {len(wrong)} disagreeing")
        if not wrong or time.monotonic() > deadline:
            break
        up.run_job("orders", "recover")  # what the runner does every 30 s, now
    time.sleep(REDELIVERY_WINDOW)  # a redelivered event's second e-mail would be in by now
    count_emails(orders, up.mail())
    return orders


def summarize(result: Result, tally: Tally, orders: list[Order]) -> None:
    result.checkouts, result.orders = len(tally.checkouts), len(orders)
    result.setup_failures = len(tally.setup_failures)
    result.setup_reasons = tally.setup_failures[:20]
    result.pressed_again = tally.pressed_again
    result.said = dict(Counter(str(c.first) for c in tally.checkouts))
    result.finally_said = dict(Counter(str(c.last) for c in tally.checkouts))
    step = {o.email: o.step for o in orders}
    by_card: dict[str, Counter[str]] = {}
    for checkout in tally.checkouts:
        end = step.get(checkout.email, "no order")
        by_card.setdefault(checkout.kind, Counter())[f"{checkout.last} / {end}"] += 1
    result.by_card = {card: dict(ends) for card, ends in by_card.items()}
    result.ended = dict(Counter(o.step for o in orders))
    result.mail_copies = sum(o.copies for o in orders)
    result.eventful = [
        {"email": c.email, "card": c.kind, "at": c.started, "said": [str(s) for s in c.said],
         "order_page": [str(p) for p in c.order_page], "shown": c.reason_shown,
         "ended": step.get(c.email, "no order"), "detail": c.detail}
        for c in tally.checkouts
        if c.said not in ([Said.PLACED], [Said.REFUSED])
        or c.order_page[-1:] == [OrderPage.CANCELLED]
    ]  # fmt: skip
