"""Jinja2 set up for the shop: autoescaped templates, price filter, asset and picture URLs."""

import functools
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from chassis.money import format_price
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from frontend.clients.catalog import CatalogClient, Money, Product, is_product_id
from frontend.clients.currency import BASE_CURRENCY, CurrencyClient
from frontend.web.assets import HashedStaticFiles
from frontend.web.forms import local_path
from frontend.web.fragments import Fragments
from frontend.web.prices import Prices
from frontend.web.sessions import Session

PACKAGE_DIR = Path(__file__).parent.parent  # the package: its templates/ and static/
MAX_QUERY_LENGTH = 100


def wants_partial(request: Request) -> bool:
    """An htmx request (not its history restore) may get a fragment instead of a whole page.

    Without JavaScript no such header is sent: plain forms get full pages and redirects.
    """
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


def price(money: Money) -> str:
    return format_price(money.amount, money.currency)


def picture_url(product: Product) -> str:
    """Our own URL for a product's picture: the browser never talks to catalog directly.

    The file name comes from catalog's `picture` field when it has the contract's shape, so
    catalog stays free to name pictures apart from product ids.
    """
    return _picture_url(product.picture, product.id)


@functools.lru_cache(maxsize=4096)  # the same few products on every page: parsed once each
def _picture_url(picture: str, product_id: str) -> str:
    name = PurePosixPath(urlsplit(picture).path).name
    if name.endswith(".svg") and is_product_id(name.removesuffix(".svg")):
        return f"/pictures/{name}"
    return f"/pictures/{product_id}.svg"


class Pages:
    """Renders page templates into HTML responses.

    Every page's layout shows catalog's category bar and currency's offer and rates: the
    two clients are handed over when the app is built.
    """

    def __init__(
        self, static: HashedStaticFiles, *, catalog: CatalogClient, currency: CurrencyClient
    ) -> None:
        self.catalog = catalog
        self.currency = currency
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
            autoescape=True,  # every template is HTML; nothing from catalog is trusted markup
            undefined=jinja2.StrictUndefined,  # a typo in a template fails tests, not silently
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are files of the installed package: compiled once, never re-checked.
            # (With auto_reload every page stat()ed each of its ~15 templates and includes.)
            auto_reload=False,
        )
        env.filters["price"] = price
        env.globals.update(
            static_url=static.url_path,
            picture_url=picture_url,
            max_query_length=MAX_QUERY_LENGTH,
        )
        fragments = Fragments(env)
        env.globals.update(
            product_card=fragments.product_card,
            category_nav=fragments.category_nav,
            currency_options=fragments.currency_options,
        )
        self._templates = Jinja2Templates(env=env)

    def render(
        self,
        request: Request,
        template: str,
        *,
        title: str,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        prices: Prices | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """`prices`: the page's, when it shows any (it may say they are unconverted)."""
        # Every page has the category bar: the page's own categories, else the last known.
        context.setdefault("categories", self.catalog.menu)
        unconverted = prices is not None and prices.unconverted
        context.update(_shopper(request, self.currency, unconverted=unconverted))
        return self._templates.TemplateResponse(
            request,
            template,
            {"title": title, **context},
            status_code=status_code,
            headers=headers,
        )


def _shopper(request: Request, currency: CurrencyClient, *, unconverted: bool) -> dict[str, Any]:
    """What the layout shows on every page: currency selector, flashes, the signed-in user.

    An error page rendered without a session (the session store down) shows no forms.
    """
    session: Session | None = getattr(request.state, "session", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.url.path in ("/sign-in", "/sign-up"):
        come_back = local_path(request.query_params.get("next"), "")  # passed along, not nested
    else:  # only a page reached by GET can be reached again by a link
        come_back = here if request.method == "GET" and here != "/" else ""
    chosen = session.get("currency", BASE_CURRENCY) if session is not None else BASE_CURRENCY
    return {
        "csrf_token": session.csrf_token if session is not None else None,
        # A fragment shows no flashes: they wait for the next whole page.
        "flashes": session.take_flashes() if session and not wants_partial(request) else [],
        "user": session.get("user") if session is not None else None,
        "cart_items": session.get("cart_items", 0) if session is not None else 0,
        "here": here,
        # The header's "Sign in" and "Create account" come back here afterwards.
        "sign_in_next": f"?{urlencode({'next': come_back})}" if come_back else "",
        "currencies": currency.offered,
        "currency": chosen,
        "prices_unconverted": unconverted,
        # Converted prices say whose rates of which day they use (currency's are daily).
        "rates": currency.rates if chosen != BASE_CURRENCY and not unconverted else None,
    }
