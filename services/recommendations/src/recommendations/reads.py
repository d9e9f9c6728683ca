"""What recommendations reads of catalog (`clients.py`): the assortment and single products.
They stay dicts in the domain (`domain.Product`); the models below name the keys the ranking
and the answer read (`domain.py`, `schemas.py`). `chassis.consumers` checks them against
catalog's openapi.json (tests/architecture/test_consumer_reads.py), and the stand-in's
recorded calls against this list (tests/integration/conftest.py).
"""

from __future__ import annotations

from chassis.consumers import Call, Reads
from pydantic import BaseModel, ConfigDict, StrictInt


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Money(_Read):
    amount: StrictInt
    currency: str


class CatalogProduct(_Read):
    id: str
    name: str
    category: str
    price: _Money
    picture: str
    tags: list[str] = []


class CatalogAssortment(_Read):
    items: list[CatalogProduct]


READS = Reads(
    "recommendations",
    calls=(
        Call("catalog", "GET", "/v1/products/{product_id}", CatalogProduct),
        Call("catalog", "GET", "/v1/assortment", CatalogAssortment),
    ),
)
