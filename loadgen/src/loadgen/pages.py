"""What the load generator reads of the shop's pages: a few facts found by regular
expression, not a parsed DOM, so that reading a page costs little of the generator's CPU
(an HTML parser in Python would spend milliseconds per page, as much as the shop does).

The patterns follow the markup of the frontend's templates, loosely: attribute order inside
a tag does not matter where a value is read, and only what a flow needs is read.
"""

import html
import re

PRODUCT_LINK = re.compile(r'href="/product/([a-z0-9]+(?:-[a-z0-9]+)*)"')
CATEGORY_LINK = re.compile(r'href="/category/([a-z0-9]+(?:-[a-z0-9]+)*)"')
CART_LINE = re.compile(r'action="/cart/items/([a-z0-9]+(?:-[a-z0-9]+)*)/remove"')
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
INPUT = re.compile(r"<input\b([^>]*)>")
SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
OPTION = re.compile(r"<option\b([^>]*)>")
ATTRIBUTE = re.compile(
    r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]*)"')
CART_COUNT = re.compile(r'class="cart-count"[^>]*>\s*\((\d+)\)')
ORDER_STATUS = re.compile(r'class="order__status order__status--([a-z]+)"')
FLASH = re.compile(r'<p class="flash flash--([a-z]+)">([^<]*)</p>')

SIGNED_IN = 'class="account-nav__name"'  # the header names a signed-in user
BUY_FORM = 'action="/cart/items"'  # a product page's "Add to cart"
CART_TITLE = 'id="cart-title"'
ORDERS_TITLE = 'id="orders-title"'
ACCOUNT_TITLE = 'id="account-title"'
ROUTES = (  # request names: a route, not a path, so one product's page is one of many
    (re.compile(r"^/product/[^/?]+"), "/product/[id]"),
    (re.compile(r"^/orders/status/[^/?]+"), "/orders/status/[token]"),
    (re.compile(r"^/orders/[^/?]+"), "/orders/[id]"),
    (re.compile(r"^/category/[^/?]+"), "/category/[slug]"),
    (re.compile(r"^/cart/items/[^/?]+/remove"), "/cart/items/[id]/remove"),
    (re.compile(r"^/verify-email/[A-Za-z0-9_-]+$"), "/verify-email/[token]"),
)
# An address-verification link in a mail's text, as notifications writes it.
VERIFY_LINK = re.compile(r"https?://[^\s\"'<>]+?(/verify-email/[A-Za-z0-9_-]+)")


def route(path: str) -> str:
    """The name a request is counted under: its route, without ids or the query."""
    path = path.split("?", 1)[0]
    return next((name for pattern, name in ROUTES if pattern.match(path)), path)


def attributes(tag_inside: str) -> dict[str, str]:
    """A tag's attributes (`name="x" checked` -> {"name": "x", "checked": ""}), unescaped."""
    found: dict[str, str] = {}
    for match in ATTRIBUTE.finditer(tag_inside):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        found.setdefault(match[1].lower(), html.unescape(value))
    return found


def products(page: str) -> list[str]:
    """The ids of the products the page links to, each once, in page order."""
    return list(dict.fromkeys(PRODUCT_LINK.findall(page)))


def categories(page: str) -> list[str]:
    """The slugs of the categories the page links to (the menu), each once."""
    return list(dict.fromkeys(CATEGORY_LINK.findall(page)))


def cart_lines(page: str) -> list[str]:
    """The product ids of a cart page's lines (each line has a remove form)."""
    return list(dict.fromkeys(CART_LINE.findall(page)))


def csrf_token(page: str) -> str | None:
    """The session's CSRF token, which every page with a form carries."""
    found = CSRF.search(page)
    return html.unescape(found[1]) if found else None


def hidden_fields(page: str, action: str) -> dict[str, str] | None:
    """The hidden inputs of the first form posting to `action`; None without such a form."""
    for form in FORM.finditer(page):
        if attributes(form[1]).get("action") != action:
            continue
        fields: dict[str, str] = {}
        for tag in INPUT.finditer(form[2]):
            found = attributes(tag[1])
            if found.get("type") == "hidden" and "name" in found:
                fields.setdefault(found["name"], found.get("value", ""))
        return fields
    return None


def _currency_options(page: str) -> list[dict[str, str]]:
    """The attributes of each option of the header's currency form."""
    for select in SELECT.finditer(page):
        if attributes(select[1]).get("name") == "currency":
            return [attributes(option[1]) for option in OPTION.finditer(select[2])]
    return []


def currencies(page: str) -> list[str]:
    """The currency codes the header's currency form offers."""
    codes = (option.get("value", "") for option in _currency_options(page))
    return [code for code in dict.fromkeys(codes) if re.fullmatch(r"[A-Z]{3}", code)]


def chosen_currency(page: str) -> str | None:
    """The currency the header's form shows as selected."""
    options = _currency_options(page)
    return next((option.get("value") for option in options if "selected" in option), None)


def cart_count(page: str) -> int | None:
    """The header's count of items in the cart; None on a page without the header."""
    found = CART_COUNT.search(page)
    return int(found[1]) if found else None


def order_status(page: str) -> str | None:
    """An order page's status: confirmed, processing or cancelled."""
    found = ORDER_STATUS.search(page)
    return found[1] if found else None


def flashes(page: str) -> list[tuple[str, str]]:
    """The page's flash messages as (kind, text): success, error, info."""
    return [(kind, html.unescape(text).strip()) for kind, text in FLASH.findall(page)]


def signed_in(page: str) -> bool:
    return SIGNED_IN in page
