"""Issue 11's chaos run, small: 4 guests checking out through the pages for 35 s while
orders' web process is SIGKILLed twice and payments and the outbox relay once each; then
every order must be consistent across orders, payments, shipping and the mailbox, and
every shopper must have been told the truth (a refused card its reason, nobody whose order
went through "unavailable" without "may have been placed"). The same code as
`bench/chaos_checkout.py` (mosaic_testing.chaos); the rules are unit-tested in
tools/mosaic/tests/test_chaos_rules.py.
"""

from collections.abc import Iterator

import pytest
from mosaic.ports import free_port
from mosaic_testing import FAST_REDELIVERY, UpProcess
from mosaic_testing.chaos import run, schedule

# Normal mode only: it SIGKILLs single service processes.
pytestmark = pytest.mark.system

DURATION = 35
SHOPPERS = 4


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, str]]:
    home = tmp_path_factory.mktemp("checkout-chaos") / "home"
    port = free_port()
    with UpProcess(home, port, extra_env=FAST_REDELIVERY) as up:
        up.wait_ready(timeout=180)
        yield up, f"http://127.0.0.1:{port}"


@pytest.mark.timeout(420)
def test_under_kills_every_order_is_consistent_and_every_shopper_told_the_truth(
    shop: tuple[UpProcess, str],
) -> None:
    up, url = shop
    kills = schedule(2, ("payments.web.1", "orders.relay.1"))
    result = run(up, url, duration=DURATION, shoppers=SHOPPERS, kills=kills)

    assert [k.process for k in result.kills] == [k.process for k in kills]
    assert all(k.back_after is not None for k in result.kills), result.kills
    assert result.orders >= 10, result.as_json()  # the run did check out under the kills
    assert set(result.by_card) >= {"good"}, result.by_card
    assert result.violations == [], "\n".join(
        f"{v.rule} {v.email} {v.order_id}: {v.detail}" for v in result.violations
    )
