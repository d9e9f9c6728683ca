"""The catalog's rules: what a product is, how a search is read. No I/O. The request bodies
(a whole product, some of its fields, and how each applies) are in `schemas`.

Products are frozen dataclasses: orjson serializes them natively (the hot path), and FastAPI
reads the same classes, with the `Field` constraints in their annotations, for the contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

# The catalog prices everything in one currency; the currency service converts for display.
# One currency keeps sorting and comparing prices meaningful inside the catalog.
BASE_CURRENCY = "USD"
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MAX_SLUG_LENGTH = 64
DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
# A bound on pages keeps OFFSET arithmetic far from overflow; no shopper pages this far.
MAX_PAGE = 10_000
MAX_QUERY_LENGTH = 200
# Typing a word, shoppers expect partial words to match ("kett" -> kettle); that many at most.
MAX_PREFIX_WORDS = 8
# A single letter would match a fair share of the dictionary; it counts as a whole word.
MIN_PREFIX_LENGTH = 2

ProductId = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        min_length=1,
        max_length=MAX_SLUG_LENGTH,
        examples=["ceramic-pour-over"],
    ),
]
CategorySlug = Annotated[
    str,
    Field(pattern=SLUG_PATTERN, min_length=1, max_length=MAX_SLUG_LENGTH, examples=["kitchen"]),
]
Tag = Annotated[str, Field(pattern=SLUG_PATTERN, min_length=1, max_length=40)]


@dataclass(frozen=True, slots=True)
class Money:
    amount: Annotated[int, Field(ge=0, description="integer minor units (cents for USD)")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


@dataclass(frozen=True, slots=True)
class Product:
    id: ProductId
    name: str
    description: str
    category: CategorySlug
    price: Money
    picture: Annotated[str, Field(description="path of the product's picture on this service")]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProductSummary:
    """A product without its description: what a block of suggestions needs."""

    id: ProductId
    name: str
    category: CategorySlug
    price: Money
    picture: Annotated[str, Field(description="path of the product's picture on this service")]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Assortment:
    """Enough of the catalog to suggest from without listing it again on every page."""

    items: Annotated[
        tuple[ProductSummary, ...],
        Field(
            description=f"in the listings' order (name, then id): the first {MAX_PAGE_SIZE} "
            f"products of every category and the first {MAX_PAGE_SIZE} of the whole "
            "catalog, each once, so each of those listings is these items filtered"
        ),
    ]


@dataclass(frozen=True, slots=True)
class ProductPage:
    items: tuple[Product, ...]
    page: int
    page_size: int
    total: Annotated[int, Field(description="how many products match, over all pages")]


@dataclass(frozen=True, slots=True)
class Category:
    slug: CategorySlug
    name: str
    description: str
    product_count: int


@dataclass(frozen=True, slots=True)
class CategoryList:
    items: tuple[Category, ...]


def picture_path(product_id: str) -> str:
    return f"/v1/pictures/{product_id}.svg"


class CatalogError(Exception):
    """A rule the request broke; the API turns each kind into problem+json."""


class ProductNotFound(CatalogError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"There is no product {product_id!r}.")


class CategoryNotFound(CatalogError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"There is no category {slug!r}.")


class UnknownCategory(CatalogError):
    """A write names a category that does not exist (the request, not the URL, is wrong)."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"There is no category {slug!r}; create products in an existing one.")


class InvalidSearch(CatalogError):
    """The search says nothing once cleaned (only control characters, say)."""


class ReadOnlyField(CatalogError):
    def __init__(self, field: str, expected: str) -> None:
        super().__init__(f"{field!r} is read-only here; send {expected!r} or leave it out.")


def normalize_tags(tags: list[str]) -> tuple[str, ...]:
    """Tags without repeats, in the order given: the order is the merchant's emphasis."""
    return tuple(dict.fromkeys(tags))


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValueError(f"page must be between 1 and {MAX_PAGE}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        return self.page_size


_WORD = re.compile(r"[^\W_]+")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# websearch_to_tsquery's syntax, as far as the prefix reading must honour it: a -word
# excludes, a "quoted phrase" is whole words, `or` is a keyword.
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A shopper's search, read three ways, from the most to the least precise.

    `text` goes to `websearch_to_tsquery` (whole words, stemmed, "quotes", -not, or);
    `prefix` is a to_tsquery that also matches words being typed ("kett" -> kettle), while
    still excluding -words; `pattern` is an ILIKE substring for the rest ("pour-o").
    Each is safe to bind as a parameter as is.
    """

    text: str
    prefix: str
    pattern: str

    @property
    def cache_key(self) -> str:
        return self.text.lower()


def read_search(raw: str) -> SearchQuery:
    # Control characters mean nothing in a search, and Postgres refuses NUL outright.
    text = _SPACES.sub(" ", _CONTROL.sub(" ", raw)).strip()
    if not text:
        raise InvalidSearch("q: the search is empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidSearch(f"q: the search is longer than {MAX_QUERY_LENGTH} characters")
    return SearchQuery(text=text, prefix=prefix_query(text), pattern=f"%{escape_like(text)}%")


def prefix_query(text: str) -> str:
    """A to_tsquery expression for `text` with partial words: `'kett':* & !'camp'`.

    Built only from letters and digits, each quoted, so no input can break its syntax.
    """
    terms: list[str] = []
    for minus, phrase, bare in _TERM.findall(text.lower()):
        if bare == "or":
            continue  # as if AND: a narrower prefix match, still a sensible one
        for word in _WORD.findall(phrase or bare):
            if minus:
                terms.append(f"!'{word}'")
            else:
                whole = phrase or len(word) < MIN_PREFIX_LENGTH
                terms.append(f"'{word}'" if whole else f"'{word}':*")
    positive = [term for term in terms if not term.startswith("!")][:MAX_PREFIX_WORDS]
    if not positive:
        return ""  # only exclusions: nothing to look for
    negative = [term for term in terms if term.startswith("!")][:MAX_PREFIX_WORDS]
    return " & ".join(positive + negative)


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (backslash is Postgres' default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
