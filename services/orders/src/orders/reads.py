"""What orders reads of each callee: every call `clients.py` makes, with the shape it reads
the answer as (`replies.py`, and the ports' dataclasses). `chassis.consumers` checks each
against the callee's committed openapi.json (tests/architecture/test_consumer_reads.py),
and the stand-ins' recorded calls against this list (tests/integration/conftest.py).
"""

from __future__ import annotations

from chassis.consumers import Call, Reads

from orders import replies
from orders.ports import CartContents, Product

READS = Reads(
    "orders",
    calls=(
        Call("cart", "GET", "/v1/carts/current", CartContents),
        Call("cart", "PUT", "/v1/carts/{cart_id}/orders/{order_id}"),
        Call("catalog", "GET", "/v1/products/{product_id}", Product),
        Call("currency", "POST", "/v1/convert", replies.Conversion),
        Call("payments", "GET", "/v1/limits/{currency}", replies.Limit),
        Call("payments", "POST", "/v1/charges", replies.Charge),
        Call("payments", "GET", "/v1/charges", replies.Charges),
        Call("payments", "POST", "/v1/charges/{charge_id}/refunds"),
        Call("shipping", "POST", "/v1/quotes", replies.Quote),
        Call("shipping", "POST", "/v1/shipments", replies.Shipment),
        Call("shipping", "GET", "/v1/shipments", replies.Shipments),
        Call("shipping", "POST", "/v1/shipments/{shipment_id}/cancel"),
    ),
)
