"""What cart reads of catalog: whether a product exists (`clients.py`), and the product it
passes on to its callers as catalog sent it (a line's `product` with `include=products`).
Cart keeps it a dict; the model below names what cart's callers read of it (the frontend's
cart page: id, name, category, price, picture), so catalog cannot drop one of those behind
cart's back. `chassis.consumers` checks it against catalog's openapi.json
(tests/architecture/test_consumer_reads.py), and the stand-in's recorded calls against this
list (tests/integration/conftest.py).
"""

from __future__ import annotations

from chassis.consumers import Call, Reads
from pydantic import BaseModel, ConfigDict, StrictInt


class _Money(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount: StrictInt
    currency: str


class PassedProduct(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    category: str
    price: _Money
    picture: str


READS = Reads(
    "cart",
    calls=(Call("catalog", "GET", "/v1/products/{product_id}", PassedProduct),),
)
