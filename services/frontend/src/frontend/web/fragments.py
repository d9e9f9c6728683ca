"""Fragments of a page that depend only on reference data, rendered once and kept.

A product card depends on the product's id, name, picture and shown price; the category
bar on catalog's categories and the category being looked at; the currency selector on
currency's offer and the shopper's choice. None of them holds anything of one shopper
beyond the choice in the key, so each is rendered the first time its key is seen and
then reused by every page: the key is every value the fragment shows, so a change in
catalog or currency is a new key, never a stale fragment. Cards were most of a home
page's rendering (24 of them, each an `include` with its own context).

Each is rendered by its own template under partials/, so the markup stays in templates.
"""

from collections.abc import Callable, Hashable, Sequence

import jinja2

from frontend.clients.catalog import Category, Product
from frontend.clients.currency import Offered

# Entries kept per kind: a card per product and currency (30 products in 10 currencies: 300),
# a bar per menu and category, a selector per offer and choice. A full store is emptied and
# refilled: the bound is on memory, the keys are few.
MAX_CARDS = 4096
MAX_BARS = 256
MAX_OPTION_SETS = 256


class Rendered(str):
    """Markup rendered by one of our (autoescaped) templates: Jinja inserts it as it is."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


class _Kept:
    """Fragments by key, at most `size` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._by_key: dict[Hashable, Rendered] = {}

    def get(self, key: Hashable, render: Callable[[], str]) -> Rendered:
        found = self._by_key.get(key)
        if found is None:
            if len(self._by_key) >= self.size:
                self._by_key.clear()
            found = self._by_key[key] = Rendered(render())
        return found


class Fragments:
    """The kept fragments, as functions the templates call."""

    def __init__(self, env: jinja2.Environment) -> None:
        self._card = env.get_template("partials/product_card.html")
        self._bar = env.get_template("partials/category_nav.html")
        self._options = env.get_template("partials/currency_options.html")
        self._cards = _Kept(MAX_CARDS)
        self._bars = _Kept(MAX_BARS)
        self._option_sets = _Kept(MAX_OPTION_SETS)

    def product_card(self, product: Product) -> Rendered:
        price = product.price
        key = (product.id, product.name, product.picture, price.amount, price.currency)
        return self._cards.get(key, lambda: self._card.render(product=product))

    def category_nav(self, categories: Sequence[Category], current: str | None) -> Rendered:
        key = (tuple((c.slug, c.name) for c in categories), current)
        return self._bars.get(
            key, lambda: self._bar.render(categories=categories, current_category=current)
        )

    def currency_options(self, offered: Sequence[Offered], chosen: str) -> Rendered:
        """The currency selector's options (they were a tenth of a product page's rendering)."""
        codes = tuple(option.code for option in offered)
        return self._option_sets.get(
            (codes, chosen),
            lambda: self._options.render(
                codes=codes, currency=chosen, currency_offered=chosen in codes
            ),
        )
