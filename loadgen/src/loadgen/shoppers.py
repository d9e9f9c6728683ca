"""The shop's shoppers as Locust users. Each flow is one action, done as a browser without
JavaScript does it: pages fetched, forms posted with the session's CSRF token, redirects
followed. A flow fails (`FlowFailed`) on an unexpected status, a connection error, or a page
that lacks what the shopper came for; its message names the step and never an id, so the
same failure counts as one error.

A `Director` (the run) decides when each user acts and times the actions; the users know
only how to shop.

Long because every flow is a task of the one `Shopper` (Locust's shape: a user class and its
tasks), sharing its session, CSRF token and cart.
"""

import json
import random
import re
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import gevent  # type: ignore[import-untyped]
import gevent.queue  # type: ignore[import-untyped]
from locust import FastHttpUser, constant, task
from locust.contrib.fasthttp import FastResponse

from loadgen import pages
from loadgen.shop import Shop

COUNTED = "loadgen_counted"  # the request context's flag: part of a measured action
TEST_CARD = "4242 4242 4242 4242"  # succeeds at payments; a declined card is never used
# Valid addresses in served countries (postal codes as shipping's zone table wants them).
ADDRESSES = (
    {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin",
     "postal_code": "10117", "country": "DE"},
    {"name": "Grace Hopper", "line1": "350 Fifth Avenue", "city": "New York",
     "postal_code": "10118", "country": "US"},
    {"name": "Sophie Germain", "line1": "5 Rue de Rivoli", "city": "Paris",
     "postal_code": "75001", "country": "FR"},
    {"name": "Alan Turing", "line1": "10 Downing Street", "city": "London",
     "postal_code": "SW1A 2AA", "country": "GB"},
    {"name": "Hedy Lamarr", "line1": "1-1 Chiyoda", "city": "Tokyo",
     "postal_code": "100-0001", "country": "JP"},
)  # fmt: skip
SHIPPING_OPTIONS = ("standard", "express")
# Shared by every load-test account, on purpose; accounts want 12 characters or more.
ACCOUNT_PASSPHRASE = "loadgen shopper, not a secret"  # noqa: S105
CART_FULL = 30  # units: an anonymous shopper starts afresh, a signed-in one checks out
MAX_UNITS = 10  # of one product in a cart (cart's rule)
FORM_ERROR = re.compile(r'<ul class="error-summary__list">\s*<li><a href="#[^"]*">([^<]*)</a>')


class FlowFailed(Exception):
    """The action did not do what the shopper came for."""


class Director(Protocol):
    """What a run gives its users: the shop, its dev mailbox (if known), and when to act."""

    shop: Shop
    seed: int
    mailbox: str | None

    def enlist(self, user: "Shopper") -> int: ...
    def set_up(self, user: "Shopper") -> None: ...
    def serve(self, user: "Shopper") -> None: ...


class Shopper(FastHttpUser):
    """One shopper with their own cookies (session, cart). Subclassed per run with the
    run's director and the flows' weights."""

    abstract = True
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 30.0
    director: ClassVar[Director]
    weights: ClassVar[Mapping[str, int]]
    signed_in: ClassVar[bool] = False

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.number = self.director.enlist(self)
        self.random = random.Random(f"{self.director.seed}:{self.number}")  # noqa: S311
        self.names, self.odds = list(self.weights), list(self.weights.values())
        self.counted = False  # whether the action under way is measured
        self.inbox: gevent.queue.Queue[tuple[str, bool]] = gevent.queue.Queue()
        self.csrf: str | None = None
        self.cart_count = 0
        self.in_cart: dict[str, int] = {}  # product -> units this shopper put in the cart
        self.account: str | None = None  # the e-mail of the account, for signed-in ones

    def context(self) -> dict[str, Any]:
        return {COUNTED: self.counted}

    def on_start(self) -> None:
        self.director.set_up(self)

    @task
    def serve(self) -> None:
        self.director.serve(self)

    def choose(self) -> str:
        flow = self.random.choices(self.names, self.odds)[0]
        if flow == "add" and self.signed_in and self.cart_count >= CART_FULL:
            return "checkout"  # their cart is their account's: emptied by ordering it
        return flow

    def get_ready(self, flow: str) -> str | None:
        """What an action needs before it starts, not timed with it: checking out needs
        something in the cart. None when ready, else what went wrong."""
        if flow == "checkout" and self.cart_count == 0:
            return self.attempt(self.fill_cart)
        return None

    def perform(self, flow: str) -> str | None:
        """Do one action; None if it did what it should, else what went wrong."""
        return self.attempt(getattr(self, f"do_{flow}"))

    @staticmethod
    def attempt(step: Callable[[], None]) -> str | None:
        try:
            step()
        except FlowFailed as failed:
            return str(failed)
        except Exception as error:  # a load generator reports a surprise, and goes on
            return f"unexpected {type(error).__name__}: {error}"
        return None

    # --- setting up: outside the measured window -----------------------------------------

    def prepare(self, account: int | None) -> None:
        """A session (and CSRF token) to start with; for signed-in shoppers their account,
        signed in, with an empty cart. Accounts are named by the run's seed and `account`:
        a later run with the same seed signs in to them instead of signing up again."""
        self.page("/")
        if account is None:
            return
        self.account = f"loadgen-{self.director.seed}-{account}@example.com"
        self.page("/sign-in")
        answer = self.send("POST", "/sign-in", (303, 401, 403, 429), self.form(
            email=self.account, password=ACCOUNT_PASSPHRASE, next="/account"))  # fmt: skip
        if answer.status_code == 429:
            raise FlowFailed("sign-in: too many failed attempts from this address (429)")
        if answer.status_code in (401, 403):  # none yet, or never confirmed: sign up (again)
            self.sign_up(account)
        else:
            self.arrive(answer, "sign-in")
        for product in pages.cart_lines(self.page("/cart")):
            self.post(f"/cart/items/{product}/remove", {})
        self.cart_count, self.in_cart = 0, {}

    def sign_up(self, account: int) -> None:
        assert self.account is not None
        self.page("/sign-up")
        # Both forms' name fields: a frontend before v0.3.0 reads "name", later ones the
        # two parts (each ignores the others), so one flow runs against every release.
        answer = self.send("POST", "/sign-up", (303, 422, 429), self.form(
            given_name="Load", family_name=f"Shopper {account}",
            name=f"Load Shopper {account}", email=self.account,
            password=ACCOUNT_PASSPHRASE, next="/account"))  # fmt: skip
        if answer.status_code == 429:
            raise FlowFailed(
                "sign-up: too many registrations from this address (429); start the shop with "
                "a higher ACCOUNTS_REGISTRATION_LIMIT_PER_ADDRESS, or use fewer signed-in users"
            )
        if answer.status_code == 422:
            raise FlowFailed("sign-up: the shop refused the form (422)")
        self.page(self.location(answer))  # "check your e-mail"
        link = self.mailed_link()
        fields = pages.hidden_fields(self.page(link), "/verify-email")
        if fields is None:
            raise FlowFailed("sign-up: the link's page has no confirmation form")
        # The link confirms only with the password chosen at this sign-up.
        fields["password"] = ACCOUNT_PASSPHRASE
        confirmed = self.send("POST", "/verify-email", (303, 403, 429), fields)
        if confirmed.status_code == 429:
            raise FlowFailed("sign-up: too many failed attempts from this address (429)")
        if confirmed.status_code == 403:
            raise FlowFailed("sign-up: the link's sign-up was made with another password (403)")
        self.arrive(confirmed, "sign-up")

    def mailed_link(self, timeout: float = 60.0) -> str:
        """The newest verification link mailed to the account, read from the shop's dev
        mailbox (`mosaic up`'s SMTP sink), as its owner would read their mail. A shop
        without one has no way to confirm new accounts for us: sign them up beforehand."""
        mailbox = self.director.mailbox
        if mailbox is None:
            raise FlowFailed(
                "sign-up: a new account is confirmed by the link mailed to it; give "
                "--mailbox URL (the dev mailbox `mosaic status` shows)"
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{mailbox}/messages.json", timeout=10) as answer:  # noqa: S310
                messages = json.load(answer)["messages"]
            for message in messages:  # newest first
                link = pages.VERIFY_LINK.search(message.get("text") or "")
                if link and self.account in message.get("to", []):
                    return link[1]
            gevent.sleep(0.25)
        raise FlowFailed(f"sign-up: no verification mail within {timeout:g} s")

    def arrive(self, answer: FastResponse, step: str) -> None:
        if not pages.signed_in(self.page(self.location(answer))):
            raise FlowFailed(f"{step}: not signed in afterwards")

    # --- the flows -----------------------------------------------------------------------

    def do_home(self) -> None:
        if not pages.PRODUCT_LINK.search(self.page("/")):
            raise FlowFailed("home: the page shows no products")

    def do_browse(self) -> None:
        product = self.random.choice(self.director.shop.products)
        if pages.BUY_FORM not in self.page(f"/product/{product}"):
            raise FlowFailed("browse: the product page has no 'Add to cart'")

    def do_cart(self) -> None:
        if pages.CART_TITLE not in self.page("/cart"):
            raise FlowFailed("cart: the page is not the cart")

    def do_currency(self) -> None:
        code = self.random.choice(self.director.shop.currencies or ("USD",))
        shown = self.page(self.post("/currency", {"currency": code, "next": "/"}))
        if pages.chosen_currency(shown) != code:
            raise FlowFailed("currency: the page does not show the chosen currency")

    def do_add(self) -> None:
        if self.cart_count >= CART_FULL and not self.signed_in:
            self.new_visitor()  # the cart would fill up: another visitor comes
        product, units = self.pick()
        self.page(f"/product/{product}")
        self.put_in_cart(product, units, back=f"/product/{product}")

    def do_checkout(self) -> None:
        form = pages.hidden_fields(self.page("/checkout"), "/checkout")
        if form is None or not form.get("idempotency_key"):
            raise FlowFailed("checkout: the page has no checkout form")
        fields = {
            **form, "email": self.account or f"shopper-{self.number}@example.com",
            "saved_address": "new", "line2": "", **self.random.choice(ADDRESSES),
            "shipping_option": self.random.choice(SHIPPING_OPTIONS),
            "card_number": TEST_CARD, "exp_month": "12",
            "exp_year": str(time.gmtime().tm_year + 3), "card_cvc": "123",
        }  # fmt: skip
        answer = self.send("POST", "/checkout", (303, 402, 409, 422), fields)
        if answer.status_code != 303:
            why = FORM_ERROR.search(answer.text or "")
            reason = f": {why[1].strip()}" if why else ""
            raise FlowFailed(f"checkout: the order was refused ({answer.status_code}){reason}")
        status = pages.order_status(self.page(self.location(answer)))
        if status != "confirmed":
            raise FlowFailed(f"checkout: the order is {status or 'not shown'}, not confirmed")

    def do_history(self) -> None:
        shown = self.page("/account/orders", expect=(200, 303))
        if not pages.signed_in(shown) or pages.ORDERS_TITLE not in shown:
            raise FlowFailed("history: not signed in, or not the order history")

    def do_profile(self) -> None:
        shown = self.page("/account", expect=(200, 303))
        if not pages.signed_in(shown) or pages.ACCOUNT_TITLE not in shown:
            raise FlowFailed("profile: not signed in, or not the account page")
        if self.account is None or self.account not in shown:
            raise FlowFailed("profile: the account page does not show the account's address")

    def do_sign_up(self) -> None:
        """A new visitor makes a new account, confirms it by the mailed link and lands on
        their account page. Addresses are new every time (a taken one gets no link)."""
        self.new_visitor()
        self.account = f"loadgen-{self.director.seed}-new-{uuid.uuid4().hex[:16]}@example.com"
        self.sign_up(self.number)

    def do_sign_in(self) -> None:
        assert self.account is not None
        self.post("/sign-out", {})
        self.csrf = None  # signing out starts a new session, with a new token
        self.page("/sign-in")
        fields = self.form(email=self.account, password=ACCOUNT_PASSPHRASE, next="/account")
        self.arrive(self.send("POST", "/sign-in", (303,), fields), "sign-in")

    # --- steps ---------------------------------------------------------------------------

    def fill_cart(self) -> None:
        """Add a product from the cart page, as a shopper about to check out does."""
        product, units = self.pick()
        self.put_in_cart(product, units, back="/cart")

    def pick(self) -> tuple[str, int]:
        """A product and a number of units that the cart can still take."""
        units = self.random.randint(1, 3)
        for _ in range(20):
            product = self.random.choice(self.director.shop.products)
            if self.in_cart.get(product, 0) + units <= MAX_UNITS:
                return product, units
        if not self.signed_in:
            self.new_visitor()
        return self.random.choice(self.director.shop.products), 1

    def put_in_cart(self, product: str, units: int, back: str) -> None:
        shown = self.page(self.post("/cart/items", {
            "product_id": product, "quantity": str(units), "next": back}))  # fmt: skip
        refusals = [text for kind, text in pages.flashes(shown) if kind == "error"]
        if refusals or ("success", "Added to your cart.") not in pages.flashes(shown):
            raise FlowFailed(f"add: not added to the cart: {'; '.join(refusals) or 'no word'}")
        self.in_cart[product] = self.in_cart.get(product, 0) + units

    def new_visitor(self) -> None:
        """Forget the session: the next page starts a new visitor with an empty cart."""
        self.client.cookiejar.clear()
        self.csrf, self.cart_count, self.in_cart = None, 0, {}

    def form(self, **fields: str) -> dict[str, str]:
        if self.csrf is None:
            raise FlowFailed("no CSRF token: no page of this session carried one")
        return {"csrf_token": self.csrf, **fields}

    def post(self, path: str, fields: Mapping[str, str]) -> str:
        """Post a form expecting a redirect (303); where it redirects to."""
        return self.location(self.send("POST", path, (303,), self.form(**fields)))

    def page(self, path: str, expect: tuple[int, ...] = (200,)) -> str:
        """A page's HTML; the header's cart count and the CSRF token noted."""
        shown = self.send("GET", path, expect).text or ""
        count = pages.cart_count(shown)
        if count is not None:
            self.cart_count = count
            if count == 0:
                self.in_cart = {}
        self.csrf = pages.csrf_token(shown) or self.csrf
        return shown

    def send(self, method: str, path: str, expect: tuple[int, ...],
             fields: Mapping[str, str] | None = None) -> FastResponse:  # fmt: skip
        name = pages.route(path)
        answer: FastResponse = self.client.request(
            method, path, name=name, data=dict(fields) if fields is not None else None,
            allow_redirects=False)  # fmt: skip
        if answer.status_code == 0:
            error = getattr(answer, "error", None)
            raise FlowFailed(f"{method} {name}: no answer ({type(error).__name__})")
        if answer.status_code not in expect:
            raise FlowFailed(f"{method} {name} answered {answer.status_code}")
        return answer

    @staticmethod
    def location(answer: FastResponse) -> str:
        where = answer.headers.get("location") if answer.headers else None
        if not where:
            raise FlowFailed(f"a redirect ({answer.status_code}) without a Location")
        return str(where)
