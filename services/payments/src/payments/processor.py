"""The card processor: a simulation that answers by test card, never a real network.

Test cards, as documented by Stripe at https://docs.stripe.com/testing ("Cards by brand"
and "Declined payments"):

    4242 4242 4242 4242   Visa         succeeds
    5555 5555 5555 4444   Mastercard   succeeds
    4000 0000 0000 0002   Visa         declined, code card_declined (generic decline)
    4000 0000 0000 9995   Visa         declined, code insufficient_funds
    4000 0000 0000 0119   Visa         declined, code processing_error

Stripe has no card for a processor that never answers; this one is Mosaic's own
(Luhn-valid, not a Stripe test number):

    4000 1234 5678 9017   Visa         no answer within PROCESSOR_TIMEOUT_SECONDS:
                                       recorded failed, code processor_timeout

Any other card that passes the card rules succeeds.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from payments.cards import Card
from payments.domain import Failure, Money

TIMES_OUT = "4000123456789017"  # Mosaic's own test card
DECLINES: dict[str, Failure] = {
    "4000000000000002": Failure.CARD_DECLINED,
    "4000000000009995": Failure.INSUFFICIENT_FUNDS,
    "4000000000000119": Failure.PROCESSING_ERROR,
}


class Processor(Protocol):
    async def charge(self, card: Card, amount: Money) -> Failure | None:
        """None when the money was taken, else why not. Never raises for a decline."""
        ...


class SimulatedProcessor:
    """Answers at once, except for the timing-out card, which it never answers: waiting
    for it is bounded by `timeout` seconds like a real processor call would be."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    async def charge(self, card: Card, amount: Money) -> Failure | None:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._answer(card)
        except TimeoutError:
            return Failure.PROCESSOR_TIMEOUT

    @staticmethod
    async def _answer(card: Card) -> Failure | None:
        if card.number == TIMES_OUT:
            await asyncio.Event().wait()  # the processor that never answers
        return DECLINES.get(card.number)
