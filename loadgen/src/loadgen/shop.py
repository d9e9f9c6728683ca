"""What a run learns of the shop before it starts: its products and currencies, read from
its home and category pages (nothing about a shop is hard-coded), and whether it answers."""

import time
from dataclasses import dataclass

import gevent  # type: ignore[import-untyped]
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

from loadgen import pages

READY_SECONDS = 10.0  # a shop that just said "ready" may still answer 503 for a moment


class ShopUnreachable(Exception):
    """The shop at the base URL cannot be driven at all: not reachable, or no products."""


@dataclass(frozen=True)
class Shop:
    products: tuple[str, ...]
    currencies: tuple[str, ...]


def discover(environment: Environment, host: str) -> Shop:
    """The products linked from the home page and every category's first page, and the
    currencies on offer. Retries for a few seconds while the shop does not answer 200."""
    session = FastHttpSession(host, environment.events.request, user=None)
    home = _page(session, "/", host, patient=True)
    found = pages.products(home)
    for slug in pages.categories(home):
        found += pages.products(_page(session, f"/category/{slug}", host, patient=False))
    products = tuple(dict.fromkeys(found))
    if not products:
        raise ShopUnreachable(f"the shop at {host} links to no products from its home page")
    return Shop(products=products, currencies=tuple(pages.currencies(home)))


def _page(session: FastHttpSession, path: str, host: str, *, patient: bool) -> str:
    deadline = time.monotonic() + (READY_SECONDS if patient else 0)
    while True:
        response = session.request("GET", path, name="discover", allow_redirects=False)
        if response.status_code == 200:
            return response.text or ""
        error = getattr(response, "error", None)
        why = f"{error!r}" if response.status_code == 0 else f"it answered {response.status_code}"
        if time.monotonic() >= deadline:
            raise ShopUnreachable(
                f"GET {host}{path} failed: {why}. Is the shop running at that URL? "
                "(`mosaic up` prints it: `Mosaic is ready: URL`)"
            )
        gevent.sleep(0.5)
