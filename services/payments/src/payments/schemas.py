"""The shapes of the API's bodies: what callers send and what they get back."""

from __future__ import annotations

import datetime
from typing import Annotated

from iso4217 import Currency
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StrictInt

from payments.domain import Charge, Money, Refund, net, refunded
from payments.limits import MAX_AMOUNT, SOURCE


def _iso4217(code: str) -> str:
    try:
        Currency(code)
    except ValueError:
        raise ValueError("not an ISO 4217 currency code") from None
    return code


CurrencyCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code", examples=["EUR"]),
    AfterValidator(_iso4217),
]
Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="what the money is for, in the caller's terms; charges are found by it",
        examples=["order:8a4c1d6e-2f0b-4b8e-9c1a-3d5e7f9a0b2c"],
    ),
]


class _Body(BaseModel):
    # Inputs never echoed in errors: a card number must not reach a log by that road.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class MoneyIn(_Body):
    amount: Annotated[
        StrictInt,
        Field(
            gt=0,
            le=MAX_AMOUNT,
            description="integer minor units (cents for EUR), at most the currency's limit "
            "(GET /v1/limits/{currency})",
        ),
    ]
    currency: CurrencyCode

    def money(self) -> Money:
        return Money(self.amount, self.currency)


class CardIn(_Body):
    """Checked by the card rules (Luhn, expiry, CVC) with an error per field; never stored."""

    number: SecretStr = Field(
        max_length=40, description="12-19 digits; spaces and dashes are ignored"
    )
    exp_month: StrictInt = Field(description="1..12", examples=[12])
    exp_year: StrictInt = Field(description="four digits", examples=[2030])
    cvc: SecretStr = Field(max_length=8, description="3 digits (4 for American Express)")


class ChargeRequest(_Body):
    amount: MoneyIn
    card: CardIn
    reference: Reference
    description: str | None = Field(default=None, max_length=500)


class RefundRequest(_Body):
    amount: MoneyIn | None = Field(
        default=None, description="in the charge's currency; all that is left when omitted"
    )
    reason: str = Field(
        min_length=1,
        max_length=200,
        description="why, for the ledger",
        examples=["order cancelled"],
    )


class MoneyView(BaseModel):
    amount: int
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyView:
        return cls(amount=money.amount, currency=money.currency)


class CardView(BaseModel):
    brand: str = Field(
        description="visa, mastercard, amex, discover, diners, jcb, unionpay, unknown"
    )
    last4: str


class FailureView(BaseModel):
    code: str = Field(
        description="card_declined, insufficient_funds, processing_error, processor_timeout"
    )
    message: str = Field(description="for the shopper")


class RefundView(BaseModel):
    id: str
    charge_id: str
    status: str = Field(description="succeeded")
    amount: MoneyView
    reason: str
    created_at: datetime.datetime

    @classmethod
    def of(cls, refund: Refund) -> RefundView:
        return cls(
            id=refund.id,
            charge_id=refund.charge_id,
            status="succeeded",
            amount=MoneyView.of(refund.amount),
            reason=refund.reason,
            created_at=refund.created_at,
        )


class ChargeView(BaseModel):
    id: str
    status: str = Field(description="succeeded or failed")
    amount: MoneyView
    card: CardView
    reference: str
    description: str | None
    failure: FailureView | None = Field(description="why it failed; null when it succeeded")
    refunds: list[RefundView]
    refunded: MoneyView = Field(description="the sum of the refunds")
    net: MoneyView = Field(description="what the shopper paid in the end (0 for a failed charge)")
    created_at: datetime.datetime

    @classmethod
    def of(cls, charge: Charge, refunds: list[Refund]) -> ChargeView:
        failure = charge.failure
        return cls(
            id=charge.id,
            status=charge.status,
            amount=MoneyView.of(charge.amount),
            card=CardView(brand=charge.brand, last4=charge.last4),
            reference=charge.reference,
            description=charge.description,
            failure=FailureView(code=failure.value, message=failure.message) if failure else None,
            refunds=[RefundView.of(r) for r in refunds],
            refunded=MoneyView.of(refunded(charge, refunds)),
            net=MoneyView.of(net(charge, refunds)),
            created_at=charge.created_at,
        )


class LimitView(BaseModel):
    currency: str
    max_amount: MoneyView = Field(description="the most one charge may be, in minor units")
    shown: str = Field(description="the limit as people read it", examples=["USD 999,999.99"])
    source: str = Field(description="where the figure is published", examples=[SOURCE])


class ChargeList(BaseModel):
    charges: list[ChargeView] = Field(description="oldest first")
