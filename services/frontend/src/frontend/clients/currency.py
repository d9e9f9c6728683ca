"""Calls to the currency service: which currencies are offered, and batch conversion.

A page's prices are converted in one `POST /v1/convert` (up to 100 amounts) carrying an
Idempotency-Key, so the chassis retries it like a GET. Conversion is a nicety: when
currency is down or refuses, the shop shows catalog's own prices instead, never an error.
"""

import datetime
import secrets
import time
from dataclasses import dataclass
from typing import Any

from chassis import Problem, ServiceClient, get_logger
from chassis.client import ClientResource
from pydantic import ValidationError

from frontend.clients.answers import Answer, parsed
from frontend.clients.catalog import Money, Product

BASE_CURRENCY = "USD"
OFFERED_REFRESH_SECONDS = 600.0
OFFERED_RETRY_SECONDS = 30.0
MAX_BATCH = 100

_log = get_logger("frontend.currency")


class Offered(Answer):
    code: str
    name: str
    exponent: int


class _RatesSource(Answer):
    date: datetime.date | None = None
    publisher: str = ""


class _Currencies(Answer):
    items: list[Offered]
    rates: _RatesSource = _RatesSource()


class _Converted(Answer):
    converted: Money


class _Conversions(Answer):
    items: list[_Converted]
    rates_date: datetime.date | None = None


# How a page names a publisher of rates; one not listed is named in full.
SHORT_NAMES = {"European Central Bank": "ECB"}


@dataclass(frozen=True)
class Rates:
    """Whose exchange rates converted the prices, and of which day (shown with them)."""

    date: datetime.date
    publisher: str

    @property
    def short_publisher(self) -> str:
        return SHORT_NAMES.get(self.publisher, self.publisher)


class ConversionFailed(Exception):
    """Currency could not convert this batch; show prices as catalog gave them."""


class CurrencyClient(ClientResource):
    """What the shop asks of currency. Also a chassis resource, like `CatalogClient`.

    The list of offered currencies is the same for every shopper, so it is kept per process
    and refreshed every few minutes; it is not per-user state.
    """

    def __init__(self, http: ServiceClient) -> None:
        super().__init__(http)
        self.offered: list[Offered] = [Offered(code=BASE_CURRENCY, name="US Dollar", exponent=2)]
        # The day of currency's rates, from its list and from every conversion (unknown
        # until currency has answered once).
        self.rates: Rates | None = None
        self._next_refresh = 0.0

    def is_offered(self, code: str) -> bool:
        return any(item.code == code for item in self.offered)

    def offered_due(self) -> bool:
        """Whether the list is old enough to ask for again (once in OFFERED_REFRESH_SECONDS)."""
        return time.monotonic() >= self._next_refresh

    async def refresh_offered(self) -> None:
        """Best effort: keep the last list (or US dollars alone) while currency is away."""
        now = time.monotonic()
        if now < self._next_refresh:
            return
        try:
            answer = _Currencies.model_validate(await self.http.get_json("/v1/currencies"))
        except (Problem, ValidationError) as error:
            _log.warning("currency list unavailable", error=type(error).__name__)
            self._next_refresh = now + OFFERED_RETRY_SECONDS
            return
        self.offered = sorted(answer.items, key=lambda item: item.code)
        if answer.rates.date is not None:
            self.rates = Rates(answer.rates.date, answer.rates.publisher)
        self._next_refresh = now + OFFERED_REFRESH_SECONDS

    async def convert(self, amounts: list[Money], to: str) -> list[Money]:
        """Each amount in `to`, in the order given, in one call (at most 100)."""
        if len(amounts) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} amounts per call")
        body: dict[str, Any] = {"to": to, "items": [m.model_dump() for m in amounts]}
        try:
            response = await self.http.request(
                "POST", "/v1/convert", json=body, idempotency_key=secrets.token_urlsafe(16)
            )
        except Problem as error:
            raise ConversionFailed(type(error).__name__) from None
        if not response.ok:
            raise ConversionFailed(f"currency answered {response.status}")
        answer = parsed(_Conversions, response, ConversionFailed)
        if len(answer.items) != len(amounts):
            raise ConversionFailed("answer has the wrong number of items")
        if answer.rates_date is not None and self.rates is not None:
            self.rates = Rates(answer.rates_date, self.rates.publisher)
        return [item.converted for item in answer.items]

    async def shown(self, products: list[Product], to: str) -> list[Product]:
        """The products with prices in `to`; unchanged (catalog's prices) when that fails."""
        if not products or all(p.price.currency == to for p in products):
            return products
        try:
            converted = await self.convert([p.price for p in products], to)
        except ConversionFailed as failure:
            _log.warning("prices shown unconverted", currency=to, reason=str(failure))
            raise
        return [p.model_copy(update={"price": m}) for p, m in zip(products, converted, strict=True)]
