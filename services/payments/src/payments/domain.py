"""The ledger's rules: what a charge and a refund are, what a failed charge tells the
shopper, and how much of a charge may still be refunded. No I/O here.

The ledger is append-only: a charge is written once with its outcome, a refund is a new
row; an amount is never updated (the database refuses it, see the migration).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum


class Failure(StrEnum):
    """Why a charge failed; the value is the `code` callers see."""

    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PROCESSING_ERROR = "processing_error"
    PROCESSOR_TIMEOUT = "processor_timeout"

    @property
    def kind(self) -> str:
        """The problem `type` slug: card-declined, ..."""
        return self.value.replace("_", "-")

    @property
    def heading(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def message(self) -> str:
        """What the shopper reads."""
        return _MESSAGES[self]


_MESSAGES = {
    Failure.CARD_DECLINED: "Your card was declined. Please use a different card.",
    Failure.INSUFFICIENT_FUNDS: ("Your card has insufficient funds. Please use a different card."),
    Failure.PROCESSING_ERROR: (
        "An error occurred while processing your card. Nothing was charged; please try again."
    ),
    Failure.PROCESSOR_TIMEOUT: (
        "The card processor did not answer in time. Nothing was charged; please try again."
    ),
}


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str  # ISO 4217


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    charge_id: str
    amount: Money
    reason: str
    created_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    amount: Money
    failure: Failure | None  # None: succeeded
    brand: str
    last4: str
    reference: str
    description: str | None
    created_at: datetime.datetime

    @property
    def status(self) -> str:
        return "failed" if self.failure else "succeeded"


class PaymentsError(Exception):
    """Base of the rules a request can break; each has a problem type (problems.py)."""


class ChargeNotFound(PaymentsError):
    def __init__(self) -> None:
        super().__init__("No such charge.")


class IdempotencyKeyReused(PaymentsError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used with a different request; "
            "use a new key for a new request."
        )


class RefundRefused(PaymentsError):
    """A refund the charge cannot take; the answer is stored under the key like a result."""


class ChargeNotRefundable(RefundRefused):
    def __init__(self) -> None:
        super().__init__("The charge failed: nothing was taken, so nothing can be refunded.")


class OverRefund(RefundRefused):
    def __init__(self, asked: Money, refundable: Money) -> None:
        super().__init__(
            f"A refund of {asked.amount} {asked.currency} is more than the "
            f"{refundable.amount} {refundable.currency} left to refund on this charge."
        )


class AmountOverLimit(PaymentsError):
    """More than one charge may take in its currency (see `limits`)."""

    def __init__(self, asked: str, most: str) -> None:
        super().__init__(
            f"A charge of {asked} is more than the {most} a single card payment may be "
            "in this currency."
        )


class RefundCurrencyMismatch(PaymentsError):
    def __init__(self, charged: str) -> None:
        super().__init__(f"The charge is in {charged}; a refund must be too.")


def refunded(charge: Charge, refunds: list[Refund]) -> Money:
    return Money(sum(r.amount.amount for r in refunds), charge.amount.currency)


def net(charge: Charge, refunds: list[Refund]) -> Money:
    """What the shopper has paid in the end: nothing for a failed charge."""
    taken = 0 if charge.failure else charge.amount.amount
    return Money(taken - refunded(charge, refunds).amount, charge.amount.currency)


def refund_amount(charge: Charge, refunds: list[Refund], asked: Money | None) -> Money:
    """How much to refund (`asked`, or all that is left); raises when the charge cannot
    take it. A refund of a fully refunded charge is an over-refund."""
    if charge.failure is not None:
        raise ChargeNotRefundable
    if asked is not None and asked.currency != charge.amount.currency:
        raise RefundCurrencyMismatch(charge.amount.currency)
    left = net(charge, refunds)
    amount = asked or left
    if amount.amount > left.amount or amount.amount <= 0:
        raise OverRefund(amount, left)
    return amount
