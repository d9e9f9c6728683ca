"""Issue 19's restarts under load: every process of the shop SIGTERMed in turn (a restart as
a deployment makes it), then every one SIGKILLed (a power cut), while shoppers browse and
check out through the pages. Every web process runs two replicas, as in production, so a
replica's restart never leaves its service without one; the relays and notifications'
worker run one each (their events wait in the streams and outboxes meanwhile).

What must hold: every signalled process is back; every checkout ends placed or cleanly
refused as its shopper was told (none unavailable, none left in doubt); no order lost,
doubled or disagreed on across orders, payments, shipping and the mailbox (the chaos
run's rules, `mosaic_testing.chaos.checks`); and at most one shopper in a hundred short
of a page before "Place order" (a SIGKILL with their add-to-cart in flight). A shopper
presses again when a connection fails, as a person does (`PressingAgain`: the checkout
form's Idempotency-Key makes a second "Place order" the same order); how often that was
needed is printed, the figure for docs/reliability.md.
"""

import json
import signal
from collections.abc import Iterator

import pytest
from mosaic.ports import free_port
from mosaic_testing import FAST_REDELIVERY, UpProcess
from mosaic_testing.chaos import rolling, run

pytestmark = pytest.mark.system

WEB = ("accounts", "cart", "catalog", "currency", "frontend", "orders", "payments",
       "recommendations", "shipping")  # fmt: skip
DURATION = 60  # seconds of load at least: 24 signals, one every 2.4 s or once the last is back
SHOPPERS = 4


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, str]]:
    home = tmp_path_factory.mktemp("rolling-restarts") / "home"
    port = free_port()
    scale = [f"--scale={service}.web=2" for service in WEB]
    with UpProcess(home, port, *scale, extra_env=FAST_REDELIVERY) as up:
        up.wait_ready(timeout=240)
        yield up, f"http://127.0.0.1:{port}"


@pytest.mark.timeout(1200)
def test_every_process_terminated_then_killed_under_load_loses_no_checkout(
    shop: tuple[UpProcess, str],
) -> None:
    up, url = shop
    # service.type.replica: the services' processes, not postgres, valkey or the mailbox
    first = sorted(name for name in up.processes() if name.count(".") == 2 and name.endswith(".1"))
    assert len(first) >= 12, first  # every web process, both relays, the worker
    signals = rolling(first, (signal.SIGTERM, signal.SIGKILL))

    result = run(up, url, duration=DURATION, shoppers=SHOPPERS, kills=signals,
                 presses_again=True, until_signalled=True)  # fmt: skip
    print(json.dumps(result.as_json(), indent=1, default=str))

    assert [(k.process, k.signal) for k in result.kills] == [
        (k.process, k.signal.name) for k in signals
    ]
    assert all(k.back_after is not None for k in result.kills), result.kills
    # A page before "Place order" may fail when a replica is SIGKILLed with a write of
    # the shopper's in flight (add to cart is no idempotent call: nobody retries it); the
    # shopper starts again. Counted and printed (`setup_reasons`), not a checkout.
    assert result.setup_failures <= result.checkouts // 100, result.as_json()
    assert result.orders >= 20, result.as_json()  # the run did check out throughout
    assert set(result.finally_said) <= {"placed", "refused"}, result.eventful
    assert result.violations == [], "\n".join(
        f"{v.rule} {v.email} {v.order_id}: {v.detail}" for v in result.violations
    )
