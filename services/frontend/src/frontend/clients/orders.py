"""Calls to the orders service: place an order from the cart, and read orders back.

The contract is orders' `/v1` API (services/orders/openapi.json). Placing an order answers
when its saga has ended: 201 confirmed, 202 still processing (the recovery finishes it), or
a problem naming why it was cancelled and the form field it concerns (402 payment, 409
cart, 422 form, 503 the shop's own trouble before payment). When orders' answer is lost
(a timeout, a 5xx without an order, the connection cut) the order may or may not have
been placed: `OrderMayBePlaced`, and `by_key` finds out later by the checkout's key. Down,
failing or off the contract on any other call is `OrdersUnavailable`; the shop then says
"try again", never a 500.

The card travels in the body of one call and nowhere else: never in the session, never
logged, never in an exception's text.
"""

import asyncio
import time
from datetime import datetime
from typing import Any, Literal

from chassis import Problem, Response, ServiceClient, context, problem_type
from chassis.client import ClientResource
from pydantic import Field, StrictInt, ValidationError

from frontend.clients.answers import Answer, M, parsed, problem_of
from frontend.clients.catalog import Money
from frontend.clients.order_form import PlaceOrderForm
from frontend.clients.owner import Owner


class OrderLine(Answer):
    product_id: str
    name: str
    quantity: StrictInt
    unit_price: Money
    line_total: Money


class Days(Answer):
    min: StrictInt
    max: StrictInt


class OrderShipping(Answer):
    option: str
    name: str
    price: Money
    days: Days


class OrderAddress(Answer):
    name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str | None = None
    country: str


class Order(Answer):
    id: str
    status: Literal["processing", "confirmed", "cancelled"]
    currency: str
    lines: list[OrderLine]
    subtotal: Money | None = None
    shipping: OrderShipping | None = None
    total: Money | None = None
    tracking_id: str | None = None
    cancel_reason: str | None = None
    cancel_field: str | None = None
    placed_at: datetime
    address: OrderAddress | None = None  # shown when orders includes it


class PlacedOrder(Order):
    status_url_token: str = Field(min_length=1)


class _History(Answer):
    items: list[Order]


class ChargeLimit(Answer):
    """The most one card payment may be in a currency, and what to tell a shopper over it."""

    max_amount: Money
    message: str

    def refuses(self, total: Money | None) -> str | None:
        """The sentence for a cart or order of `total`, when it is over the limit."""
        if total is None or total.currency != self.max_amount.currency:
            return None
        return self.message if total.amount > self.max_amount.amount else None


class OrdersUnavailable(Exception):
    """orders is down, slow, failing, or answered off the contract: nothing to show."""


class AccessRefused(Exception):
    """orders refused the shopper's access token (401): one it no longer trusts, e.g. signed
    with a key the shop has since replaced (a restore onto new secrets). The shopper is
    then signed out, never shown an outage (error_pages)."""


class OrderMayBePlaced(Exception):
    """orders' answer to a checkout was lost: the order may exist, and is then finished by
    orders (its recovery) and e-mailed; `by_key` tells which, once orders answers."""


class OrderRefused(Exception):
    """orders did not place the order, for a reason the shopper can act on.

    `field` is the checkout form's field it concerns, in orders' terms (`card`,
    `card.number`, `address.postal_code`, `shipping_option`, `cart`, ...), or None.
    """

    def __init__(self, status: int, kind: str, message: str, field: str | None) -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.message = message
        self.field = field


def _first_field(problem: dict[str, Any]) -> tuple[str | None, str | None]:
    """The first invalid field of a 422 `invalid-request`, as a body path, and its message."""
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            where = str(error.get("field") or error.get("location") or "")
            message = error.get("message")
            return where.removeprefix("body.") or None, str(message) if message else None
    return None, None


class OrdersClient(ClientResource):
    """What the shop asks of orders; also a chassis resource, like `CartClient`.

    `owner` says whose order: a visitor's id or a signed-in user's token.
    """

    # A charge limit changes with a payments release: asked once per currency and process
    # every few minutes, and never allowed to hold up a cart page for long (after a failed
    # ask, pages go without it for a while rather than each waiting again).
    LIMIT_FRESH_SECONDS = 300.0
    LIMIT_RETRY_SECONDS = 30.0
    LIMIT_TIMEOUT_SECONDS = 1.0

    def __init__(self, http: ServiceClient, *, checkout_seconds: float) -> None:
        super().__init__(http)
        self.checkout_seconds = checkout_seconds
        self._limits: dict[str, tuple[float, ChargeLimit | None]] = {}

    async def limit(self, currency: str) -> ChargeLimit | None:
        """The most one card payment may be in `currency` (orders has it from payments);
        None while orders cannot say: orders checks every order against it anyway."""
        kept = self._limits.get(currency)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        # One ask at a time per currency: pages arriving meanwhile use the last answer (as
        # the category bar does), rather than each asking orders again.
        last = kept[1] if kept is not None else None
        self._limits[currency] = (time.monotonic() + self.LIMIT_RETRY_SECONDS, last)
        found = await self._ask_limit(currency)
        fresh = self.LIMIT_FRESH_SECONDS if found is not None else self.LIMIT_RETRY_SECONDS
        self._limits[currency] = (time.monotonic() + fresh, found)
        return found

    async def _ask_limit(self, currency: str) -> ChargeLimit | None:
        try:
            async with asyncio.timeout(self.LIMIT_TIMEOUT_SECONDS):
                response = await self.http.request("GET", f"/v1/limits/{currency}")
        except (TimeoutError, Problem):
            return None
        if not response.ok:
            return None
        try:
            return ChargeLimit.model_validate(response.json())
        except (ValidationError, ValueError):
            return None

    async def place(self, owner: Owner, key: str, form: PlaceOrderForm) -> PlacedOrder:
        """Place the order; the same `key` again gets the same order (orders replays it).

        The checkout waits for the saga (a charge, a shipment), so this call gets its own
        deadline, longer than a page's: otherwise orders would answer 202 "processing" for
        nearly every order.
        """
        deadline = context.deadline.set(time.time() + self.checkout_seconds)
        try:
            response = await self.http.request(
                "POST",
                "/v1/orders",
                json=form.model_dump(exclude_defaults=True),
                headers=owner.headers,
                idempotency_key=key,
                timeout=self.checkout_seconds,
                # orders' 503 with the order it cancelled before payment frees the key:
                # a retry here would place a second order for one "Place order".
                final_answers=True,
            )
        except Problem as error:
            raise OrderMayBePlaced(f"{type(error).__name__}: {error}") from None
        finally:
            context.deadline.reset(deadline)
        if response.status in {201, 202}:
            try:
                return self._parsed(PlacedOrder, response)
            except OrdersUnavailable as broken:  # placed, but the answer is unreadable
                raise OrderMayBePlaced(str(broken)) from None
        problem = problem_of(response)
        # A 503 carrying its cancelled order is orders' own answer (nothing was charged);
        # any other 5xx may have come from anywhere after the order was made.
        cancelled = response.status == 503 and problem.get("order_id")
        if response.status in {402, 409, 422} or cancelled:
            kind = problem_type(problem)
            field = str(problem.get("field") or "") or None
            message: str | None = str(problem.get("detail") or "")
            if kind == "invalid-request":
                field, message = _first_field(problem)
            raise OrderRefused(response.status, kind, message or "", field)
        if response.status >= 500:
            raise OrderMayBePlaced(
                f"orders answered {response.status} {problem_type(problem)}".strip()
            )
        raise OrdersUnavailable(
            f"orders answered {response.status} {problem_type(problem)}".strip()
        )

    async def by_key(self, owner: Owner, key: str) -> PlacedOrder | None:
        """The owner's order placed with this checkout's key, wherever it stands; None when
        there is none (it was never placed, or cancelled before payment)."""
        try:
            response = await self.http.request(
                "GET", "/v1/orders/by-key", headers={**owner.headers, "Idempotency-Key": key}
            )
        except Problem as error:
            raise OrdersUnavailable(type(error).__name__) from None
        _refused(owner, response)
        if response.status == 404:
            return None
        if not response.ok:
            raise OrdersUnavailable(f"orders answered {response.status}")
        return self._parsed(PlacedOrder, response)

    async def order(self, owner: Owner, order_id: str) -> Order | None:
        """The owner's order; None when there is none such (or it is someone else's)."""
        return await self._read(f"/v1/orders/{order_id}", owner)

    async def by_token(self, token: str) -> Order | None:
        """A guest's order by the token of its status link; None for a wrong token."""
        return await self._read(f"/v1/orders/by-token/{token}", Owner())

    async def history(self, owner: Owner) -> list[Order]:
        """The signed-in user's orders, newest first."""
        try:
            response = await self.http.request("GET", "/v1/orders", headers=owner.headers)
        except Problem as error:
            raise OrdersUnavailable(type(error).__name__) from None
        _refused(owner, response)
        if not response.ok:
            raise OrdersUnavailable(f"orders answered {response.status}")
        return self._parsed(_History, response).items

    async def _read(self, path: str, owner: Owner) -> Order | None:
        try:
            response = await self.http.request("GET", path, headers=owner.headers)
        except Problem as error:
            raise OrdersUnavailable(type(error).__name__) from None
        _refused(owner, response)
        if response.status in {404, 422}:  # 422: not even an id (or token) orders could have
            return None
        if not response.ok:
            raise OrdersUnavailable(f"orders answered {response.status}")
        return self._parsed(Order, response)

    @staticmethod
    def _parsed(model: type[M], response: Response) -> M:
        return parsed(model, response, OrdersUnavailable)


def _refused(owner: Owner, response: Response) -> None:
    """A signed-in owner's token refused: `AccessRefused` (a visitor's 401 stays an outage)."""
    if owner.signed_in and response.status == 401:
        raise AccessRefused(problem_type(problem_of(response)))
