"""Calls to the shipping service: the delivery options to a destination, with their prices.

`POST /v1/quotes` only reads (no key needed) and answers prices in US dollars, like
catalog; the checkout converts them with the page's other prices. A destination shipping
does not serve is `DestinationNotServed`, naming the address field it is about; down, slow
or off the contract is `ShippingUnavailable`, and the checkout then shows no options.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from chassis import Problem
from chassis.client import ClientResource
from pydantic import StrictInt

from frontend.clients.answers import Answer, parsed
from frontend.clients.catalog import Money


class Days(Answer):
    min: StrictInt
    max: StrictInt


class ShippingOption(Answer):
    id: str
    name: str
    price: Money
    days: Days


class _Quote(Answer):
    options: list[ShippingOption]


@dataclass(frozen=True)
class Item:
    product_id: str
    quantity: int


class DestinationNotServed(Exception):
    """Mosaic does not deliver there; `field` is `address.country` or `address.postal_code`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field)
        self.field = field
        self.message = message


class ShippingUnavailable(Exception):
    """shipping is down, slow, or answered off the contract."""


def _address_field(where: str) -> str:
    """shipping's `destination.postal_code` (or `body.destination...`) in the form's terms."""
    last = where.rsplit(".", 1)[-1]
    return f"address.{last}" if last in {"country", "postal_code"} else "address.country"


class ShippingClient(ClientResource):
    """What the shop asks of shipping; also a chassis resource, like `CartClient`."""

    async def quote(
        self, country: str, postal_code: str, items: list[Item]
    ) -> list[ShippingOption]:
        """Every option to the destination for these items, priced in US dollars."""
        destination: dict[str, Any] = {"country": country}
        if postal_code:
            destination["postal_code"] = postal_code
        body = {
            "destination": destination,
            "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in items],
        }
        try:
            # Only reads, so safe to repeat: a key lets the chassis retry it like a GET.
            response = await self.http.request(
                "POST", "/v1/quotes", json=body, idempotency_key=secrets.token_urlsafe(16)
            )
        except Problem as error:
            raise ShippingUnavailable(type(error).__name__) from None
        if response.status == 422:
            try:
                problem = response.json()
            except ValueError:
                problem = None
            raise self._refusal(problem)
        if not response.ok:
            raise ShippingUnavailable(f"shipping answered {response.status}")
        return parsed(_Quote, response, ShippingUnavailable).options

    @staticmethod
    def _refusal(problem: Any) -> Exception:
        if not isinstance(problem, dict):
            return ShippingUnavailable("422 off the contract")
        errors = [e for e in problem.get("errors") or [] if isinstance(e, dict)]
        where = str(problem.get("field") or (errors[0].get("location") if errors else "") or "")
        if "destination" not in where:
            return ShippingUnavailable(f"shipping refused the quote: {where or 'no field'}")
        message = str(problem.get("detail") or "We don't deliver to this address yet.")
        return DestinationNotServed(_address_field(where), message)
