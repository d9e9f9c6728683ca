"""The simulated processor: each test card's outcome, and a bounded wait."""

from __future__ import annotations

import datetime
import time

import pytest
from payments.cards import validate
from payments.domain import Failure, Money
from payments.processor import SimulatedProcessor

TODAY = datetime.date(2026, 6, 15)


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        ("4242424242424242", None),
        ("5555555555554444", None),
        ("378282246310005", None),  # any other valid card succeeds
        ("4000000000000002", Failure.CARD_DECLINED),
        ("4000000000009995", Failure.INSUFFICIENT_FUNDS),
        ("4000000000000119", Failure.PROCESSING_ERROR),
        ("4000123456789017", Failure.PROCESSOR_TIMEOUT),
    ],
)
async def test_outcome_by_card(number: str, outcome: Failure | None) -> None:
    cvc = "1234" if number.startswith("37") else "123"
    card = validate(number, 12, 2030, cvc, TODAY)
    started = time.monotonic()
    assert await SimulatedProcessor(timeout=0.2).charge(card, Money(100, "EUR")) == outcome
    assert time.monotonic() - started < 30  # bounded, however slow the machine
