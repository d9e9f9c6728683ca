"""What each request does: claim the key, do the work, store the answer, in one
transaction (see idempotency.py)."""

from __future__ import annotations

import datetime

from chassis import get_logger

from payments import cards, limits
from payments.domain import AmountOverLimit, ChargeNotFound, RefundRefused, refund_amount
from payments.idempotency import Answer, fingerprint
from payments.problems import failure_problem, problem_of, stored_problem
from payments.processor import Processor
from payments.schemas import ChargeRequest, ChargeView, RefundRequest, RefundView
from payments.store import Store

_log = get_logger("payments")


async def charge(
    store: Store,
    processor: Processor,
    caller: str,
    key: str,
    request: ChargeRequest,
    instance: str,
) -> Answer:
    card_in = request.card
    number = card_in.number.get_secret_value()
    amount = request.amount.money()
    most = limits.limit(amount.currency)
    if amount.amount > most.amount:  # refused like a malformed request: nothing is recorded
        raise AmountOverLimit(limits.shown(amount), limits.shown(most))
    request_print = fingerprint(
        {
            "operation": "charge",
            "amount": [amount.amount, amount.currency],
            "reference": request.reference,
            "description": request.description,
            "card": _masked(number, card_in.exp_month, card_in.exp_year),
        }
    )
    async with store.transaction() as ledger:
        stored = await ledger.claim(caller, key, request_print)
        if stored is not None:
            replayed = stored.replay(request_print)
            _log.info("charge replayed", caller=caller, reference=request.reference)
            return replayed
        today = datetime.datetime.now(datetime.UTC).date()
        card = cards.validate(
            number, card_in.exp_month, card_in.exp_year, card_in.cvc.get_secret_value(), today
        )
        failure = await processor.charge(card, amount)
        recorded = await ledger.add_charge(
            amount=amount,
            failure=failure,
            brand=card.brand,
            last4=card.last4,
            reference=request.reference,
            description=request.description,
        )
        if failure is None:
            answer = Answer(201, ChargeView.of(recorded, []).model_dump_json().encode())
        else:
            answer = stored_problem(failure_problem(failure, recorded.id), instance)
        await ledger.answer(caller, key, answer)
    _log.info(
        "charge recorded",
        charge_id=recorded.id,
        status=recorded.status,
        code=failure.value if failure else None,
        brand=recorded.brand,
        last4=recorded.last4,
        amount=amount.amount,
        currency=amount.currency,
        reference=recorded.reference,
        caller=caller,
    )
    return answer


async def refund(
    store: Store, caller: str, key: str, charge_id: str, request: RefundRequest, instance: str
) -> Answer:
    asked = request.amount.money() if request.amount else None
    request_print = fingerprint(
        {
            "operation": "refund",
            "charge_id": charge_id,
            "amount": [asked.amount, asked.currency] if asked else None,
            "reason": request.reason,
        }
    )
    async with store.transaction() as ledger:
        stored = await ledger.claim(caller, key, request_print)
        if stored is not None:
            replayed = stored.replay(request_print)
            _log.info("refund replayed", caller=caller, charge_id=charge_id)
            return replayed
        found = await ledger.locked_charge(charge_id)
        if found is None:
            raise ChargeNotFound
        charged, refunds = found
        try:
            amount = refund_amount(charged, refunds, asked)
        except RefundRefused as refused:
            answer = stored_problem(problem_of(refused), instance)
            _log.info("refund refused", charge_id=charge_id, reason=str(refused), caller=caller)
        else:
            made = await ledger.add_refund(charge_id, amount, request.reason)
            answer = Answer(201, RefundView.of(made).model_dump_json().encode())
            _log.info(
                "refund recorded",
                refund_id=made.id,
                charge_id=charge_id,
                amount=amount.amount,
                currency=amount.currency,
                caller=caller,
            )
        await ledger.answer(caller, key, answer)
    return answer


def _masked(number: str, exp_month: int, exp_year: int) -> dict[str, object]:
    """The card as far as it may be kept: enough to tell two requests apart."""
    digits = cards.digits_of(number)
    return {
        "brand": cards.brand_of(digits),
        "last4": digits[-4:],
        "length": len(digits),
        "exp": [exp_month, exp_year],
    }
