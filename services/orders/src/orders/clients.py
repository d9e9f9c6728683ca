"""The saga's calls to the other services: adapters from `ports` to their HTTP APIs.

Each turns the callee's answer into the port's terms: a result, `Rejected` (a business
failure the shopper must hear about, with the form field it concerns) or `Unavailable`
(timeouts, 5xx and connection failures, after the chassis client's retries; and an answer
it does not know: a status it does not expect, or a body not of the shape `replies.py`
reads, logged with the reason). Money and addresses go out and come back through
`shapes.py`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from chassis import (
    Response,
    ServiceClient,
    UpstreamTimeout,
    UpstreamUnavailable,
    get_logger,
    problem_type,
)
from chassis.client import ClientResource
from pydantic import TypeAdapter, ValidationError

from orders import replies
from orders.domain import Address, Failure, Line, Money, Order
from orders.ports import (
    Card,
    CartContents,
    CartLine,
    ChargeLimit,
    ChargeRecord,
    OwnerProof,
    Product,
    Rejected,
    ShipmentRecord,
    ShippingOption,
    Unavailable,
)
from orders.shapes import address_json, money_json

T = TypeVar("T")

_log = get_logger("orders.clients")


class _Adapter(ClientResource):
    """A resource wrapping one ServiceClient (opened and closed in the lifespan)."""

    async def _call(self, method: str, path: str, **options: Any) -> Response:
        try:
            response = await self.http.request(method, path, **options)
        except (UpstreamUnavailable, UpstreamTimeout) as down:
            raise Unavailable(self.http.service, down.detail) from None
        if response.status >= 500:
            raise Unavailable(self.http.service, f"answered {response.status}")
        return response

    def _unexpected(self, response: Response) -> Unavailable:
        """An answer this adapter does not know: logged, and treated as not done."""
        _log.error(
            "unexpected answer",
            service=self.http.service,
            status=response.status,
            type=replies.problem_of(response).get("type"),
        )
        return Unavailable(self.http.service, f"answered {response.status}")

    def _read(self, shape: type[T], response: Response) -> T:
        """The answer's body as `shape`; a body of another shape is an answer this adapter
        does not know (logged with the first field that is wrong)."""
        try:
            read: T = _adapter(shape).validate_json(response.body)
        except ValidationError as wrong:
            first = wrong.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            reason = f"{where}: {first['msg']}"
            _log.error(
                "malformed answer",
                service=self.http.service,
                status=response.status,
                shape=shape.__name__,
                reason=reason,
            )
            raise Unavailable(self.http.service, f"malformed answer ({reason})") from None
        return read


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(shape: type[Any]) -> TypeAdapter[Any]:
    if shape not in _ADAPTERS:  # built once per shape: building one takes milliseconds
        _ADAPTERS[shape] = TypeAdapter(shape)
    return _ADAPTERS[shape]


class CartClient(_Adapter):
    async def current(self, proof: OwnerProof) -> CartContents | None:
        response = await self._call("GET", "/v1/carts/current", headers=proof.headers)
        if response.status == 404:
            return None
        if not response.ok:
            raise self._unexpected(response)
        return self._read(CartContents, response)

    async def remove_ordered(self, cart_id: str, order_id: str, lines: Sequence[Line]) -> None:
        ordered = [{"product_id": line.product_id, "quantity": line.quantity} for line in lines]
        response = await self._call(
            "PUT", f"/v1/carts/{cart_id}/orders/{order_id}", json={"lines": ordered}
        )
        if response.status == 404:  # the cart is gone (merged at sign-in): nothing to remove
            return
        if not response.ok:
            raise self._unexpected(response)


class CatalogClient(_Adapter):
    async def products(self, product_ids: Sequence[str]) -> dict[str, Product | None]:
        found = await asyncio.gather(*(self._product(product_id) for product_id in product_ids))
        return dict(zip(product_ids, found, strict=True))

    async def _product(self, product_id: str) -> Product | None:
        response = await self._call("GET", f"/v1/products/{product_id}")
        if response.status == 404:
            return None
        if not response.ok:
            raise self._unexpected(response)
        return self._read(Product, response)


class CurrencyClient(_Adapter):
    async def convert(self, amounts: Sequence[Money], to: str) -> list[Money]:
        response = await self._call(
            "POST",
            "/v1/convert",
            json={"to": to, "items": [money_json(money) for money in amounts]},
            idempotency_key=str(uuid.uuid4()),  # a read: the key only lets the client retry
        )
        if response.status == 422:
            raise Rejected(_not_supported(to))
        if not response.ok:
            raise self._unexpected(response)
        return self._read(replies.Conversion, response).amounts()


class PaymentsClient(_Adapter):
    # Limits change with a payments release, not per request: one call per currency and
    # process every few minutes, rather than one more hop in every checkout.
    LIMIT_FRESH_SECONDS = 300.0

    def __init__(self, http: ServiceClient) -> None:
        super().__init__(http)
        self._limits: dict[str, tuple[float, ChargeLimit]] = {}

    def refusing(self) -> bool:
        return self.http.refusing

    async def limit(self, currency: str) -> ChargeLimit:
        kept = self._limits.get(currency)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        response = await self._call("GET", f"/v1/limits/{currency}")
        if response.status == 422:  # not a currency payments knows: nothing to charge in
            raise Rejected(_not_supported(currency))
        if not response.ok:
            raise self._unexpected(response)
        found = self._read(replies.Limit, response).limit()
        self._limits[currency] = (time.monotonic() + self.LIMIT_FRESH_SECONDS, found)
        return found

    async def charge(self, key: str, order: Order, card: Card) -> ChargeRecord:
        body = {
            "amount": money_json(order.total),
            "card": {
                "number": card.number,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "cvc": card.cvc,
            },
            "reference": order.reference,
            "description": f"Mosaic order {order.id}",
        }
        response = await self._call("POST", "/v1/charges", json=body, idempotency_key=key)
        if response.status == 201:
            charge = self._read(replies.Charge, response)
            return ChargeRecord(charge.id, True, charge.net.amount)
        problem = replies.problem_of(response)
        if response.status == 402:
            raise Rejected(replies.declined(problem))
        if response.status == 422 and problem_type(problem) in {"card-invalid", "invalid-request"}:
            field, message = replies.first_error(problem, default_field="card")
            raise Rejected(Failure("card-invalid", message, 422, field))
        raise self._unexpected(response)

    async def charges(self, reference: str) -> list[ChargeRecord]:
        response = await self._call("GET", "/v1/charges", params={"reference": reference})
        if not response.ok:
            raise self._unexpected(response)
        return [charge.record() for charge in self._read(replies.Charges, response).charges]

    async def refund(self, key: str, charge_id: str, reason: str) -> None:
        response = await self._call(
            "POST",
            f"/v1/charges/{charge_id}/refunds",
            json={"reason": reason},
            idempotency_key=key,
        )
        if response.status == 409 and response.problem_type == "over-refund":
            return  # already refunded in full
        if not response.ok:
            raise self._unexpected(response)


class ShippingClient(_Adapter):
    async def quote(self, address: Address, lines: Sequence[CartLine]) -> list[ShippingOption]:
        destination = {"country": address.country, "postal_code": address.postal_code}
        response = await self._call(
            "POST",
            "/v1/quotes",
            json={"destination": _present(destination), "items": _items(lines)},
            idempotency_key=str(uuid.uuid4()),  # a read: the key only lets the client retry
        )
        if response.status == 422:
            raise Rejected(replies.undeliverable(replies.problem_of(response)))
        if not response.ok:
            raise self._unexpected(response)
        return self._read(replies.Quote, response).shipping_options()

    async def ship(self, key: str, order: Order) -> ShipmentRecord:
        if order.shipping is None:
            raise ValueError(f"order {order.id} is shipped before its shipping was quoted")
        # Shipping's address has no region: orders keeps it, shipping is not sent it.
        address = {**address_json(order.address), "region": None}
        body = {
            "reference": order.reference,
            "option": order.shipping.option,
            "address": _present(address),
            "items": _items([CartLine(line.product_id, line.quantity) for line in order.lines]),
        }
        response = await self._call("POST", "/v1/shipments", json=body, idempotency_key=key)
        if response.status == 201:
            return self._read(replies.Shipment, response).record()
        problem = replies.problem_of(response)
        if response.status == 422 and problem_type(problem) != "idempotency-key-reused":
            raise Rejected(replies.undeliverable(problem))
        raise self._unexpected(response)

    async def shipments(self, reference: str) -> list[ShipmentRecord]:
        response = await self._call("GET", "/v1/shipments", params={"reference": reference})
        if not response.ok:
            raise self._unexpected(response)
        return [item.record() for item in self._read(replies.Shipments, response).items]

    async def cancel(self, shipment_id: str) -> None:
        response = await self._call(
            "POST",
            f"/v1/shipments/{shipment_id}/cancel",
            idempotency_key=f"cancel-{shipment_id}",  # cancelling is idempotent: retry it
        )
        if not response.ok and response.status != 404:
            raise self._unexpected(response)


def _not_supported(currency: str) -> Failure:
    return Failure(
        "currency-not-supported",
        f"Prices cannot be shown in {currency}; choose another currency.",
        422,
        "currency",
    )


def _items(lines: Sequence[CartLine]) -> list[dict[str, Any]]:
    return [{"product_id": line.product_id, "quantity": line.quantity} for line in lines]


def _present(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}
