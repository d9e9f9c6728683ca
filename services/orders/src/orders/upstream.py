"""The saga's callees built from the settings: one signed client per service, as the web
app and the recovery job both need them (neither reaches into the other for it)."""

from __future__ import annotations

from chassis import Credentials, Resource, ServiceClient

from orders.clients import CartClient, CatalogClient, CurrencyClient, PaymentsClient, ShippingClient
from orders.ports import Upstream
from orders.settings import OrdersSettings


def upstream(settings: OrdersSettings, credentials: Credentials) -> tuple[Upstream, list[Resource]]:
    """The saga's callees, and the same clients as resources (opened in the lifespan)."""

    def client(service: str, url: object, timeout: float = 5.0) -> ServiceClient:
        return ServiceClient(service, str(url), credentials=credentials, request_timeout=timeout)

    carts = CartClient(client("cart", settings.cart_url))
    catalog = CatalogClient(client("catalog", settings.catalog_url))
    currency = CurrencyClient(client("currency", settings.currency_url))
    payments = PaymentsClient(
        client("payments", settings.payments_url, settings.payments_timeout_seconds)
    )
    shipping = ShippingClient(client("shipping", settings.shipping_url))
    callees = Upstream(carts, catalog, currency, payments, shipping)
    return callees, [carts, catalog, currency, payments, shipping]
