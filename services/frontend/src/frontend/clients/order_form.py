"""The body of a place-order call (`POST /v1/orders`), as the checkout builds it and
reads.py declares it (`Call(..., sends=PlaceOrderForm)`): the consumer check holds each
field against orders' request schema. Sent without the fields left at their defaults (an
empty address line, no given name), as the checkout always sent it.
"""

from pydantic import BaseModel, ConfigDict, Field


class _Sent(BaseModel):
    model_config = ConfigDict(frozen=True)


class DeliveryAddress(_Sent):
    name: str
    line1: str
    line2: str = ""
    city: str
    postal_code: str = ""
    country: str


class CardDetails(_Sent):
    number: str = Field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = Field(repr=False)


class PlaceOrderForm(_Sent):
    email: str
    currency: str
    shipping_option: str
    address: DeliveryAddress
    card: CardDetails
    given_name: str | None = None  # the signed-in shopper's, for the mail to greet by
