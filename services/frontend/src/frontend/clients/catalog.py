"""Calls to the catalog service, and the shapes the shop needs from its answers.

The contract is catalog's `/v1` API (services/catalog/openapi.json). Answers are validated here so
a page never renders half a product: a broken answer becomes `CatalogBroken`, which the
shop shows as "temporarily unavailable" like any other catalog failure.
"""

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from chassis import Problem, Response, ServiceClient, UpstreamStatusError, get_logger
from chassis.client import ClientResource
from pydantic import BaseModel, Field, StrictInt, ValidationError

from frontend.clients.answers import Answer

# Product ids per the contract; category slugs share the kebab-case shape by convention.
KEBAB_CASE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_ID_LENGTH = 64
# Catalog's categories change only when someone edits the catalog, yet every page shows
# them: each process keeps the last answer and asks again once it is this old, so a change
# shows on every page within this bound (a product page asked for them every time: one
# request of three to catalog).
CATEGORIES_FRESH_SECONDS = 5.0
# The category bar on pages that list no products: kept per process, best effort.
MENU_FRESH_SECONDS = 300.0
MENU_RETRY_SECONDS = 30.0
MENU_TIMEOUT_SECONDS = 1.0

_log = get_logger("frontend.catalog")

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Money(Answer):
    amount: StrictInt  # minor units; a float here is a contract breach, not a price
    currency: Currency


class Product(Answer):
    id: str
    name: str
    description: str = ""
    category: str
    price: Money
    picture: str
    tags: list[str] = []


class Category(Answer):
    slug: str
    name: str
    description: str = ""
    product_count: int = 0


class ProductPage(Answer):
    items: list[Product]
    page: int
    page_size: int
    total: int


class _Categories(Answer):
    items: list[Category]


class CatalogError(Exception):
    """Base of what the frontend raises about catalog answers."""


class ProductNotFound(CatalogError):
    pass


class CategoryNotFound(CatalogError):
    pass


class CatalogBroken(CatalogError):
    """Catalog answered, but not in the contract's shape (a bug, not an outage)."""


@dataclass(frozen=True)
class Picture:
    """A picture answer passed through as is: body, status and its caching headers."""

    status: int
    body: bytes
    headers: Mapping[str, str]


_PICTURE_HEADERS = ("content-type", "cache-control", "etag", "last-modified")

M = TypeVar("M", bound=BaseModel)


def is_product_id(value: str) -> bool:
    """Whether catalog could have such a product; anything else is a 404 without asking."""
    return len(value) <= MAX_ID_LENGTH and KEBAB_CASE.fullmatch(value) is not None


is_category_slug = is_product_id


class CatalogClient(ClientResource):
    """What the shop asks of catalog; one method per question.

    Also a chassis resource (opened and closed in the app's lifespan) by delegating to the
    HTTP client, so routes can ask for it by its own type.
    """

    def __init__(self, http: ServiceClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(http)
        self.clock = clock
        # The last categories catalog named: the same for every shopper, not per-user state.
        self.menu: list[Category] = []
        self._categories_fresh_until = 0.0
        self._menu_fresh_until = 0.0

    async def categories(self) -> list[Category]:
        """Catalog's categories, at most `CATEGORIES_FRESH_SECONDS` old."""
        if self.clock() < self._categories_fresh_until:
            return self.menu
        items = self._parse(_Categories, await self.http.get_json("/v1/categories")).items
        self.menu = items
        now = self.clock()
        self._categories_fresh_until = now + CATEGORIES_FRESH_SECONDS
        self._menu_fresh_until = now + MENU_FRESH_SECONDS
        return items

    async def refresh_menu(self) -> None:
        """Keep `menu` fresh for pages that ask catalog nothing else; never fails a page."""
        now = self.clock()
        if now < self._menu_fresh_until:
            return
        self._menu_fresh_until = now + MENU_RETRY_SECONDS  # others keep the last menu meanwhile
        try:
            async with asyncio.timeout(MENU_TIMEOUT_SECONDS):
                await self.categories()
        except (TimeoutError, Problem, CatalogError) as error:
            _log.warning("category bar not refreshed", reason=type(error).__name__)

    async def products(self, *, category: str | None, page: int, page_size: int) -> ProductPage:
        params = {"category": category, "page": page, "page_size": page_size}
        try:
            answer = await self.http.get_json("/v1/products", params=params)
        except UpstreamStatusError as error:
            if error.upstream_status == 404 and error.problem_type == "category-not-found":
                raise CategoryNotFound(category) from None
            raise
        return self._parse(ProductPage, answer)

    async def product(self, product_id: str) -> Product:
        try:
            answer = await self.http.get_json(f"/v1/products/{product_id}")
        except UpstreamStatusError as error:
            if error.upstream_status == 404:
                raise ProductNotFound(product_id) from None
            raise
        return self._parse(Product, answer)

    async def search(self, query: str, *, page: int, page_size: int) -> ProductPage:
        params = {"q": query, "page": page, "page_size": page_size}
        return self._parse(ProductPage, await self.http.get_json("/v1/search", params=params))

    async def picture(self, name: str, *, if_none_match: str | None) -> Picture:
        """`name` is a file name like `ceramic-pour-over.svg`, already checked by the caller."""
        headers = {"If-None-Match": if_none_match} if if_none_match else None
        answer: Response = await self.http.request("GET", f"/v1/pictures/{name}", headers=headers)
        if answer.status >= 500:
            raise CatalogBroken(f"picture {name}: catalog answered {answer.status}")
        kept = {key: answer.headers[key] for key in _PICTURE_HEADERS if key in answer.headers}
        return Picture(status=answer.status, body=answer.body, headers=kept)

    @staticmethod
    def _parse(model: type[M], answer: Any) -> M:
        try:
            return model.model_validate(answer)
        except ValidationError as error:
            raise CatalogBroken(f"{model.__name__}: {error.error_count()} invalid fields") from None
