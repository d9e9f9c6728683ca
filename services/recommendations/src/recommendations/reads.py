"""What recommendations reads of catalog: the assortment and single products, each answer
checked by `clients.py` against the model of the keys the ranking and the answer read, then
kept as a dict (`domain.Product`). `chassis.consumers` checks them against
catalog's openapi.json (tests/architecture/test_consumer_reads.py), and the stand-in's
recorded calls against this list (tests/integration/conftest.py).
"""

from __future__ import annotations

from chassis.consumers import Call, Reads

from recommendations.clients import CatalogAssortment, CatalogProduct

READS = Reads(
    "recommendations",
    calls=(
        Call("catalog", "GET", "/v1/products/{product_id}", CatalogProduct),
        Call("catalog", "GET", "/v1/assortment", CatalogAssortment),
    ),
)
