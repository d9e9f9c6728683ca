"""The payments HTTP API, /v1: routes only; card rules in `cards`, ledger rules in
`domain`, the work in `handlers`, storage in `store`.

Only orders moves money; admin may read. Idempotency keys are scoped to the calling
service, proven by its service token.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import Database, callers, dependency
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from payments import handlers, limits
from payments.domain import ChargeNotFound
from payments.idempotency import REPLAYED_HEADER, Answer, IdempotencyKey
from payments.problems import DECLINED, INVALID, NOT_FOUND, REFUSED
from payments.processor import Processor
from payments.schemas import (
    ChargeList,
    ChargeRequest,
    ChargeView,
    CurrencyCode,
    LimitView,
    MoneyView,
    Reference,
    RefundRequest,
    RefundView,
)
from payments.store import Store

router = APIRouter(prefix="/v1")

ORDERS = callers("orders")  # moves money; checks an order against the limit first
READERS = callers("orders", "admin")  # reads the ledger

# The same dependency object as in `dependencies=`: FastAPI runs it once per request.
Caller = Annotated[str, ORDERS]


async def _store(database: Annotated[Database, Depends(dependency(Database))]) -> Store:
    return Store(database)


def _processor(request: Request) -> Processor:
    processor: Processor = request.app.state.processor
    return processor


StoreDep = Annotated[Store, Depends(_store)]
ProcessorDep = Annotated[Processor, Depends(_processor)]
ChargeId = Annotated[uuid.UUID, Path(description="the charge's id")]
REPLAY_NOTE = f"; a replay under the same key carries `{REPLAYED_HEADER}: true`"


def _sent(answer: Answer) -> Response:
    headers = {REPLAYED_HEADER: "true"} if answer.replayed else None
    return Response(answer.body, answer.status, headers=headers, media_type=answer.media_type)


@router.post(
    "/charges",
    dependencies=[ORDERS],
    status_code=201,
    response_model=ChargeView,
    responses={201: {"description": "Charged" + REPLAY_NOTE}, **DECLINED, **INVALID},
)
async def create_charge(
    body: ChargeRequest,
    key: IdempotencyKey,
    caller: Caller,
    store: StoreDep,
    processor: ProcessorDep,
    request: Request,
) -> Response:
    """Charge a card. A failed charge is recorded too, and answered 402."""
    return _sent(await handlers.charge(store, processor, caller, key, body, request.url.path))


@router.get(
    "/charges",
    dependencies=[READERS],
    response_model=ChargeList,
    responses=INVALID,
)
async def charges_by_reference(
    reference: Annotated[Reference, Query(description="e.g. order:<uuid>")], store: StoreDep
) -> ChargeList:
    """Every charge for a reference, each with its refunds and net amount: what orders'
    recovery reads to decide whether to go forward or compensate."""
    found = await store.by_reference(reference)
    return ChargeList(charges=[ChargeView.of(charge, refunds) for charge, refunds in found])


@router.get(
    "/limits/{currency}",
    dependencies=[ORDERS],
    response_model=LimitView,
    responses=INVALID,
)
async def charge_limit(
    currency: Annotated[CurrencyCode, Path(description="ISO 4217 code")],
) -> LimitView:
    """The most one charge may be in a currency, as processors publish it: orders checks
    an order against it when pricing, before any card is charged."""
    most = limits.limit(currency)
    return LimitView(
        currency=currency,
        max_amount=MoneyView.of(most),
        shown=limits.shown(most),
        source=limits.SOURCE,
    )


@router.get(
    "/charges/{charge_id}",
    dependencies=[READERS],
    response_model=ChargeView,
    responses={**NOT_FOUND, **INVALID},
)
async def get_charge(charge_id: ChargeId, store: StoreDep) -> ChargeView:
    found = await store.charge(str(charge_id))
    if found is None:
        raise ChargeNotFound
    return ChargeView.of(*found)


@router.post(
    "/charges/{charge_id}/refunds",
    dependencies=[ORDERS],
    status_code=201,
    response_model=RefundView,
    responses={
        201: {"description": "Refunded" + REPLAY_NOTE},
        **NOT_FOUND,
        **REFUSED,
        **INVALID,
    },
)
async def refund_charge(
    charge_id: ChargeId,
    body: RefundRequest,
    key: IdempotencyKey,
    caller: Caller,
    store: StoreDep,
    request: Request,
) -> Response:
    """Refund all of a charge that is left to refund, or part of it."""
    answer = await handlers.refund(store, caller, key, str(charge_id), body, request.url.path)
    return _sent(answer)
