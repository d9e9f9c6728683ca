"""A page's prices in the shopper's currency: one batch call to currency per page.

Conversion is a nicety: when it fails, the page shows catalog's own prices and says so.
Whether it did is `unconverted`, which the route hands to the renderer with the page.
"""

from chassis import get_logger
from chassis.concurrency import concurrently
from starlette.requests import Request

from frontend.clients.catalog import Money, Product
from frontend.clients.currency import BASE_CURRENCY, ConversionFailed, CurrencyClient
from frontend.web.forms import session_of

_log = get_logger("frontend.checkout")


def chosen_currency(request: Request) -> str:
    code = session_of(request).get("currency", BASE_CURRENCY)
    return code if isinstance(code, str) else BASE_CURRENCY


class Prices:
    """The shopper's prices for one request; catalog's prices when currency fails."""

    def __init__(self, request: Request, currency: CurrencyClient) -> None:
        self.request = request
        self.currency = currency
        self.unconverted = False  # a conversion failed: the page says prices are in USD

    async def shown(self, products: list[Product]) -> list[Product]:
        wanted = chosen_currency(self.request)
        try:
            if self.currency.offered_due():
                shown, _ = await concurrently(
                    self.currency.shown(products, wanted), self.currency.refresh_offered()
                )
            else:  # almost always: no second task for a refresh that would return at once
                shown = await self.currency.shown(products, wanted)
        except ConversionFailed:
            self.unconverted = True
            return products
        return shown

    async def converted(self, amounts: list[Money]) -> list[Money]:
        """Amounts (a checkout's lines and delivery options) in the shopper's currency."""
        wanted = chosen_currency(self.request)
        if not amounts or all(amount.currency == wanted for amount in amounts):
            await self.currency.refresh_offered()
            return list(amounts)
        try:
            converted, _ = await concurrently(
                self.currency.convert(amounts, wanted), self.currency.refresh_offered()
            )
        except ConversionFailed as failure:
            _log.warning("checkout prices shown unconverted", currency=wanted, reason=str(failure))
            self.unconverted = True
            return list(amounts)
        return converted
