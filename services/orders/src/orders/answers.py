"""The checkout's answers: the same bytes for every request with its key."""

from __future__ import annotations

from typing import Any

import orjson
from chassis.errors import PROBLEM_MEDIA_TYPE
from fastapi.responses import Response

from orders import problems
from orders.checkout import Placed
from orders.domain import Step
from orders.schemas import checkout_view

REPLAYED_HEADER = "Idempotent-Replayed"


def checkout_answer(placed: Placed) -> Response:
    """201 confirmed; a problem (402, 409, 422, 503) carrying the cancelled order and its
    reason; or 202 while the saga has not ended (ask again with the same key, or GET the
    order)."""
    order = placed.order
    view = checkout_view(order, placed.token).model_dump(mode="json")
    headers = {REPLAYED_HEADER: "true"} if placed.replayed else {}
    headers["Location"] = f"/v1/orders/{order.id}"
    if order.step is Step.CONFIRMED:
        return _json(view, 201, headers)
    if order.step is not Step.CANCELLED or order.failure is None:
        return _json(view, 202, headers)
    problem = problems.cancelled(order.id, order.failure, view)
    return _json(problem, order.failure.status, headers, PROBLEM_MEDIA_TYPE)


def _json(
    body: dict[str, Any], status: int, headers: dict[str, str], media: str = "application/json"
) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=media)
