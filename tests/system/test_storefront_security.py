"""The shop's defences end to end, through the frontend at its URL under `mosaic up`: forms
without this session's CSRF token change nothing, guessing a password is stopped with a
friendly 429, a signed-out cookie is worth nothing, and one shopper never reaches another's
cart, profile or addresses. The services' own tests check each piece with stand-ins; these
check the pieces together (frontend, accounts, cart, catalog, Valkey, Postgres)."""

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from mosaic.ports import free_port
from mosaic.testing import UpProcess

pytestmark = pytest.mark.system

PASSWORD = "violet harbour lantern drifts quietly"
PRODUCT_LINK = re.compile(r'href="/product/([a-z0-9]+(?:-[a-z0-9]+)*)"')
CART_LINE = re.compile(r'action="/cart/items/([a-z0-9-]+)/remove"')
CART_COUNT = re.compile(r'class="cart-count">\((\d+)\)<')
SIGNED_IN_AS = re.compile(r'class="account-nav__name" href="/account">([^<]*)<')
ADDRESS_DELETE = re.compile(r'action="/account/addresses/([A-Za-z0-9_-]+)/delete"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ADDRESS = {
    "recipient": "Ada Lovelace", "line1": "12 St James's Square", "line2": "",
    "city": "London", "region": "", "postal_code": "SW1Y 4JH", "country": "GB",
}  # fmt: skip


@dataclass
class Shop:
    up: UpProcess
    url: str
    products: list[str]

    def visitor(self) -> httpx.Client:
        """A browser of its own: its own cookie jar, redirects left for the test to see."""
        return httpx.Client(base_url=self.url, timeout=20)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("storefront-security") / "home"
    with UpProcess(home, free_port()) as up:
        url = up.wait_ready(timeout=120)
        front_page = httpx.get(url + "/", timeout=20)
        assert front_page.status_code == 200
        products = list(dict.fromkeys(PRODUCT_LINK.findall(front_page.text)))
        assert len(products) >= 2, "the seeded catalog shows products on the front page"
        yield Shop(up, url, products)


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action` (CSRF token included)."""
    found = re.search(rf'<form[^>]*\baction="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert found, f"the page has no form posting to {action}"
    return {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(found[1])}


def submit(browser: httpx.Client, page_path: str, action: str, **fields: str) -> httpx.Response:
    """Open the page, then post its form as a browser would: its hidden fields plus ours."""
    page = browser.get(page_path)
    assert page.status_code == 200, page_path
    return browser.post(action, data={**form_fields(page.text, action), **fields})


def sign_up(browser: httpx.Client, name: str) -> str:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:10]}@example.com"
    answer = submit(browser, "/sign-up", "/sign-up", name=name, email=email, password=PASSWORD)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/account"
    return email


def signed_in_as(page: str) -> str | None:
    found = SIGNED_IN_AS.search(page)
    return html.unescape(found[1]) if found else None


def cart_of(browser: httpx.Client) -> tuple[list[str], int]:
    """The products on the cart page, and the header's item count there."""
    page = browser.get("/cart")
    assert page.status_code == 200
    count = CART_COUNT.search(page.text)
    assert count, "every page shows the cart count"
    return CART_LINE.findall(page.text), int(count[1])


def quantity_in_cart(browser: httpx.Client, product: str) -> int:
    page = browser.get("/cart").text
    found = re.search(rf'id="quantity-{product}" name="quantity">(.*?)</select>', page, re.S)
    assert found, f"{product} is in the cart"
    selected = re.search(r'<option value="(\d+)" selected>', found[1])
    assert selected
    return int(selected[1])


def is_friendly_page(response: httpx.Response) -> bool:
    text = response.text
    return (
        response.headers["content-type"].startswith("text/html")
        and text.lstrip().lower().startswith("<!doctype html>")
        and "Traceback" not in text
        and 'File "' not in text
    )


def test_forms_without_this_sessions_csrf_token_are_refused_and_change_nothing(
    shop: Shop,
) -> None:
    product = shop.products[0]
    with shop.visitor() as shopper, shop.visitor() as other:
        page = shopper.get(f"/product/{product}")
        fields = form_fields(page.text, "/cart/items")
        others_token = form_fields(other.get("/").text, "/currency")["csrf_token"]
        assert others_token != fields["csrf_token"]

        for token in (None, "", "forged-" + fields["csrf_token"][7:], others_token):
            forged = {k: v for k, v in fields.items() if k != "csrf_token"}
            if token is not None:
                forged["csrf_token"] = token
            refused = shopper.post("/cart/items", data={**forged, "quantity": "3"})
            assert refused.status_code == 403, token
            assert is_friendly_page(refused)
            assert "That form couldn't be accepted" in html.unescape(refused.text)
        assert cart_of(shopper) == ([], 0)

        # The same form with its own token goes through: the refusals were the token's doing.
        accepted = shopper.post("/cart/items", data={**fields, "quantity": "3"})
        assert accepted.status_code == 303
        assert cart_of(shopper) == ([product], 3)

    with shop.visitor() as owner, shop.visitor() as intruder:
        email = sign_up(owner, "Grace Hopper")
        sign_in = form_fields(intruder.get("/sign-in").text, "/sign-in")
        credentials = {"email": email, "password": PASSWORD}
        for token in (None, "not-the-token"):
            fields = {k: v for k, v in sign_in.items() if k != "csrf_token"}
            if token is not None:
                fields["csrf_token"] = token
            assert intruder.post("/sign-in", data={**fields, **credentials}).status_code == 403
        assert intruder.get("/account").status_code == 303  # still nobody
        assert signed_in_as(intruder.get("/").text) is None

        # Sign-out needs the token too: a cross-site post cannot sign the owner out.
        assert owner.post("/sign-out", data={}).status_code == 403
        assert owner.post("/sign-out", data={"csrf_token": "x"}).status_code == 403
        assert signed_in_as(owner.get("/account").text) == "Grace Hopper"


@dataclass
class LockedOut:
    email: str
    refusals: list[httpx.Response]  # the wrong passwords' answers, in order
    locked: httpx.Response  # the next wrong password's answer
    right_password: httpx.Response  # the right password, while locked


@pytest.fixture(scope="module")
def locked_out(shop: Shop) -> LockedOut:
    """One account guessed at until accounts stops it (10 failures in 15 minutes)."""
    with shop.visitor() as owner:
        email = sign_up(owner, "Katherine Johnson")
    with shop.visitor() as guesser:

        def attempt(password: str) -> httpx.Response:
            return submit(guesser, "/sign-in", "/sign-in", email=email, password=password)

        refusals = [attempt(f"guess number {n} of many") for n in range(10)]
        locked = attempt("one more guess then")
        return LockedOut(email, refusals, locked, attempt(PASSWORD))


def test_guessing_a_password_is_stopped_with_a_friendly_429(locked_out: LockedOut) -> None:
    assert [r.status_code for r in locked_out.refusals] == [401] * 10
    assert all(is_friendly_page(r) for r in locked_out.refusals)

    locked = locked_out.locked
    assert locked.status_code == 429
    assert is_friendly_page(locked)
    assert "Too many attempts for now." in locked.text
    wait = re.search(r"Please wait (\d+) seconds\.", locked.text)
    assert wait, "the page says how long to wait"
    assert 0 < int(wait[1]) <= 900  # within accounts' 15-minute window

    # While locked, even the right password is refused: the limit is no guessing oracle.
    assert locked_out.right_password.status_code == 429
    assert signed_in_as(locked_out.right_password.text) is None


@pytest.mark.xfail(
    reason="frontend bug: identity.py renders the sign-in 429 without accounts' Retry-After "
    "header (the wait is only in the page text)"
)
def test_the_429_carries_retry_after(locked_out: LockedOut) -> None:
    retry_after = locked_out.locked.headers.get("retry-after", "")
    assert retry_after.isdecimal()
    assert 0 < int(retry_after) <= 900


def test_after_sign_out_the_old_cookies_are_an_anonymous_visitor(shop: Shop) -> None:
    with shop.visitor() as browser:
        browser.get("/")
        before_sign_in = browser.cookies["session"]
        sign_up(browser, "Hedy Lamarr")
        signed_in = browser.cookies["session"]
        assert signed_in != before_sign_in  # sign-in moved the session to a new id
        assert signed_in_as(browser.get("/account").text) == "Hedy Lamarr"

        signed_out = submit(browser, "/account", "/sign-out")
        assert signed_out.status_code == 303
        assert browser.cookies["session"] not in (signed_in, before_sign_in)

    for old in (signed_in, before_sign_in):
        with shop.visitor() as replay:
            account = replay.get("/account", headers={"cookie": f"session={old}"})
            assert account.status_code == 303
            assert account.headers["location"] == "/sign-in?next=/account"
            home = replay.get("/", headers={"cookie": f"session={old}"})
            assert home.status_code == 200
            assert signed_in_as(home.text) is None
            assert 'href="/sign-in"' in home.text
            assert home.cookies.get("session") not in (None, old)  # a fresh id, never the old


def test_one_shopper_cannot_reach_anothers_cart_profile_or_addresses(shop: Shop) -> None:
    product = shop.products[1]
    with shop.visitor() as ada, shop.visitor() as bob:
        ada_email = sign_up(ada, "Ada Lovelace")
        added = submit(ada, f"/product/{product}", "/cart/items", quantity="2")
        assert added.status_code == 303
        assert submit(ada, "/account", "/account/addresses", **ADDRESS).status_code == 303
        ada_page = ada.get("/account").text
        [ada_address] = ADDRESS_DELETE.findall(ada_page)
        assert ADDRESS["line1"] in html.unescape(ada_page)

        bob_email = sign_up(bob, "Bob Kahn")
        bob_page = html.unescape(bob.get("/account").text)
        assert bob_email in bob_page
        assert ada_email not in bob_page
        assert ADDRESS["line1"] not in bob_page
        assert ada_address not in bob_page
        assert cart_of(bob) == ([], 0)

        # Bob posts Ada's address id and product through his own, valid forms.
        csrf = form_fields(bob.get("/account").text, "/account/addresses")["csrf_token"]
        removal = bob.post(f"/account/addresses/{ada_address}/delete", data={"csrf_token": csrf})
        assert removal.status_code in (303, 403, 404)
        changed = bob.post(f"/cart/items/{product}", data={"csrf_token": csrf, "quantity": "7"})
        assert changed.status_code in (303, 403, 404)
        removed = bob.post(f"/cart/items/{product}/remove", data={"csrf_token": csrf})
        assert removed.status_code in (303, 403, 404)

        ada_page = html.unescape(ada.get("/account").text)
        assert ADDRESS["line1"] in ada_page
        assert ADDRESS_DELETE.findall(ada.get("/account").text) == [ada_address]
        assert bob_email not in ada_page
        assert cart_of(ada) == ([product], 2)
        assert quantity_in_cart(ada, product) == 2
        assert cart_of(bob) == ([], 0)
        assert ADDRESS["line1"] not in html.unescape(bob.get("/account").text)


def test_a_new_visitor_sees_nothing_of_the_shoppers_before(shop: Shop) -> None:
    """Anonymous carts too belong to one session: a fresh visitor's cart is empty."""
    with shop.visitor() as first, shop.visitor() as second:
        assert submit(first, f"/product/{shop.products[0]}", "/cart/items").status_code == 303
        assert cart_of(first) == ([shop.products[0]], 1)
        assert cart_of(second) == ([], 0)
