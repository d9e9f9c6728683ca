"""The ledger's rules: net amounts and what a charge can still refund."""

from __future__ import annotations

import datetime

import pytest
from payments.domain import (
    Charge,
    ChargeNotRefundable,
    Failure,
    Money,
    OverRefund,
    Refund,
    RefundCurrencyMismatch,
    net,
    refund_amount,
)

NOW = datetime.datetime(2026, 6, 15, tzinfo=datetime.UTC)


def a_charge(amount: int = 1000, failure: Failure | None = None) -> Charge:
    return Charge("c", Money(amount, "EUR"), failure, "visa", "4242", "order:1", None, NOW)


def a_refund(amount: int) -> Refund:
    return Refund("r", "c", Money(amount, "EUR"), "test", NOW)


def test_full_refund_by_default_is_what_is_left() -> None:
    assert refund_amount(a_charge(), [], None) == Money(1000, "EUR")
    assert refund_amount(a_charge(), [a_refund(300)], None) == Money(700, "EUR")


def test_partial_refunds_up_to_the_charge() -> None:
    assert refund_amount(a_charge(), [a_refund(300)], Money(700, "EUR")) == Money(700, "EUR")
    with pytest.raises(OverRefund, match="more than the 700 EUR left"):
        refund_amount(a_charge(), [a_refund(300)], Money(701, "EUR"))


def test_a_fully_refunded_charge_takes_no_more() -> None:
    with pytest.raises(OverRefund):
        refund_amount(a_charge(), [a_refund(1000)], None)


def test_a_failed_charge_is_not_refundable() -> None:
    with pytest.raises(ChargeNotRefundable):
        refund_amount(a_charge(failure=Failure.CARD_DECLINED), [], None)


def test_a_refund_is_in_the_charges_currency() -> None:
    with pytest.raises(RefundCurrencyMismatch):
        refund_amount(a_charge(), [], Money(100, "USD"))


def test_net() -> None:
    assert net(a_charge(), [a_refund(300), a_refund(200)]) == Money(500, "EUR")
    assert net(a_charge(failure=Failure.PROCESSOR_TIMEOUT), []) == Money(0, "EUR")


@pytest.mark.parametrize("failure", list(Failure))
def test_every_failure_has_a_type_and_a_message(failure: Failure) -> None:
    assert failure.kind == failure.value.replace("_", "-")
    assert failure.message.endswith(".")
