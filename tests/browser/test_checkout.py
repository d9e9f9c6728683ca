"""Checkout in a real browser, one shopper per test card, against the whole shop under
`mosaic up`: the card that succeeds leads to the confirmation page with its tracking
number, and the confirmation e-mail is there in the dev mailbox; each card that fails
(declined, insufficient funds, processing error, processor timeout) brings the checkout
page back with the reason next to the card number, nothing charged and the cart kept; a
cart over what one card payment may be in its currency says so before any card is typed.

Every step is screenshotted (full page) into the artifacts folder, and the shop's pages
must cause no console error, page error or failed request other than the checkout's own
answer for a refused card (402). Selectors are roles, labels and visible text.
"""

import re
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
from mosaic_testing import MODES, UpProcess
from playwright.sync_api import Browser, ConsoleMessage, Error, Locator, Page, Response, expect

pytestmark = [
    pytest.mark.system,
    pytest.mark.browser,
    # The shop as separate processes, then all in one (the benchmark's floor): one per mode.
    pytest.mark.parametrize("up", MODES, indirect=True),
]

TIMEOUT_MS = 15_000  # a page on a busy 2-core machine; the checkout waits for its saga
CHECKOUT_MS = 40_000  # charge, shipment and confirmation, or the processor's timeout
expect.set_options(timeout=TIMEOUT_MS)

TRACKING = re.compile(r"MOS[A-Z2-7]{12}")
PRODUCT_PAGE = re.compile(r"/product/[^/?#]+$")
LOAD_FAILED = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")
CARDS = {
    "declined": ("4000 0000 0000 0002", "Your card was declined"),
    "insufficient-funds": ("4000 0000 0000 9995", "insufficient funds"),
    "processing-error": ("4000 0000 0000 0119", "An error occurred while processing your card"),
    "processor-timeout": ("4000 1234 5678 9017", "did not answer in time"),
}


class Visit:
    """One shopper in their own browser context: every page screenshotted, everything the
    browser complains about kept (refused checkouts answer 402/422 by design: `expected`)."""

    def __init__(self, browser: Browser, shop: str, artifacts: Path, name: str) -> None:
        self.context = browser.new_context(base_url=shop, viewport={"width": 1280, "height": 800})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.expected: set[tuple[int, str]] = set()  # (status, path) the test asks for
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", self._response)
        self.artifacts, self.name, self.steps = artifacts, name, 0

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium also logs every 4xx page as a console error: the expected ones are fine.
        status = LOAD_FAILED.search(message.text)
        path = "/" + self.page.url.split("/", 3)[-1]
        if status and (int(status[1]), path) in self.expected:
            return
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _response(self, response: Response) -> None:
        path = "/" + response.url.split("/", 3)[-1]
        if response.status >= 400 and (response.status, path) not in self.expected:
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def snap(self, what: str) -> None:
        self.steps += 1
        path = self.artifacts / f"checkout-{self.name}-{self.steps:02d}-{what}.png"
        self.page.screenshot(path=path, full_page=True)

    def check_quiet(self) -> None:
        assert not self.problems, "the browser reported:\n" + "\n".join(self.problems)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:
                exc.add_note("the browser reported:\n" + "\n".join(self.problems))
                self.snap("failed")
        except Error:
            pass
        finally:
            self.context.close()


def header(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Your account")


def cart_link(page: Page) -> Locator:
    return header(page).get_by_role("link", name=re.compile(r"^Cart\b"))


def fill_the_cart_and_open_checkout(visit: Visit) -> str:
    """The first product into the cart, then the cart's Checkout; the product's name."""
    page = visit.page
    page.goto("/")
    page.get_by_role("main").locator("a[href^='/product/']").first.click()
    expect(page).to_have_url(PRODUCT_PAGE)
    name = page.get_by_role("heading", level=1).inner_text().strip()
    page.get_by_role("button", name="Add to cart").click()
    expect(cart_link(page)).to_have_text("Cart (1)")
    cart_link(page).click()
    page.get_by_role("main").get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    visit.snap("checkout")
    return name


def fill_in(page: Page, email: str, card: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Street and number").fill("Unter den Linden 1")
    page.get_by_label("Town or city").fill("Berlin")
    # Each change makes htmx fetch the delivery options for the address: one at a time, as
    # a shopper types (two in flight may answer out of order, see the report of issue 5).
    # A request is over when htmx has taken its class off again, not when the answer's
    # headers arrive: a change before that makes hx-sync abort it (htmx:sendAbort).
    for label, value in (("Country", "DE"), ("Postal code", "10117")):
        with page.expect_response(re.compile(r"/checkout/shipping-options$")):
            page.get_by_label(label).fill(value)
            page.get_by_label(label).blur()
        expect(page.locator(".htmx-request")).to_have_count(0)
    standard = page.get_by_role("radio", name=re.compile(r"^Standard"))
    expect(standard).to_be_visible()
    standard.check()
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill(str(time.gmtime().tm_year + 3))
    page.get_by_label("Security code (CVC)").fill("123")


def place_order(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^Place order")).click(timeout=CHECKOUT_MS)


def test_a_card_that_succeeds_confirms_the_order_and_the_email_arrives(
    browser: Browser, up: UpProcess, shop: str, artifacts: Path
) -> None:
    email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
    with Visit(browser, shop, artifacts, "success") as visit:
        page = visit.page
        product = fill_the_cart_and_open_checkout(visit)
        fill_in(page, email, "4242 4242 4242 4242")
        visit.snap("filled-in")
        place_order(page)

        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Thank you, your order is confirmed", timeout=CHECKOUT_MS)
        expect(page).to_have_url(re.compile(r"/orders/status/[A-Za-z0-9_-]{43}$"))
        tracking = page.get_by_text(TRACKING)
        expect(tracking).to_be_visible()
        tracking_id = tracking.inner_text().strip()
        expect(page.get_by_role("main")).to_contain_text(product)
        expect(cart_link(page)).to_have_text("Cart (0)")
        visit.snap("confirmed")

        mailbox = up.status()["mailbox"]
        short_id = page.get_by_text(re.compile(r"^[0-9a-f]{8}-")).inner_text()[:8].upper()
        deadline = time.monotonic() + 90
        page.goto(mailbox)
        subject = page.get_by_role("link", name=re.compile(short_id))
        while not subject.count():  # the relay and the worker take a moment
            assert time.monotonic() < deadline, "no confirmation e-mail in the dev mailbox"
            time.sleep(1)
            page.reload()
        expect(page.get_by_role("row").filter(has_text=email)).to_have_count(1)
        visit.snap("mailbox")
        subject.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(short_id)
        expect(page.get_by_text(email)).to_be_visible()
        mail = page.frame_locator("iframe").first
        expect(mail.get_by_text(tracking_id).first).to_be_visible()
        visit.snap("confirmation-email")
        visit.check_quiet()


@pytest.mark.parametrize("outcome", list(CARDS))
def test_a_card_that_fails_shows_why_next_to_the_card_number_and_keeps_the_cart(
    request: pytest.FixtureRequest, browser: Browser, shop: str, artifacts: Path, outcome: str
) -> None:
    if outcome != "processor-timeout" and request.node.callspec.params["up"] == "in-process":
        # Test time: in-process, the card whose processor times out stands for all of them
        # (the same saga path, plus the timeouts that cross the in-process transport).
        pytest.skip("in-process mode runs the processor-timeout card only")
    card, reason = CARDS[outcome]
    with Visit(browser, shop, artifacts, outcome) as visit:
        page = visit.page
        product = fill_the_cart_and_open_checkout(visit)
        fill_in(page, f"browser-{outcome}@example.com", card)
        visit.expected.add((402, "/checkout"))
        place_order(page)

        error = page.locator("#checkout-card-number-error")
        expect(error).to_contain_text(reason, timeout=CHECKOUT_MS)
        expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        expect(page.get_by_role("alert")).to_contain_text(reason)  # the summary above
        card_number = page.get_by_label("Card number")
        expect(card_number).to_have_attribute("aria-invalid", "true")
        expect(card_number).to_have_value("")  # never sent back to the browser
        expect(page.get_by_label("Street and number")).to_have_value("Unter den Linden 1")
        expect(cart_link(page)).to_have_text("Cart (1)")
        visit.snap("refused")

        cart_link(page).click()
        expect(
            page.get_by_role("main").get_by_role("link", name=product, exact=True)
        ).to_be_visible()
        visit.snap("cart-kept")
        visit.check_quiet()


def test_a_cart_over_one_payment_s_limit_says_what_to_do_before_any_card_is_typed(
    browser: Browser, up: UpProcess, shop: str, artifacts: Path
) -> None:
    """In ISK one card payment may be at most ISK 999,999 (about EUR 6,700): ten each of
    the eight dearest products are more. The cart says so with the limit in words, and
    neither it nor the checkout offers a way to type a card."""
    with up.client("catalog", "frontend") as catalog:
        listed = catalog.get("/v1/products", params={"page_size": 100}).json()["items"]
    dearest = [p["id"] for p in sorted(listed, key=lambda p: -p["price"]["amount"])[:8]]
    with Visit(browser, shop, artifacts, "over-limit") as visit:
        page = visit.page
        for added, product in enumerate(dearest, start=1):
            page.goto(f"/product/{product}")
            page.get_by_label("Quantity").fill("10")
            page.get_by_role("button", name="Add to cart").click()
            # htmx adds in place: going to the next page before its answer cancels the add.
            expect(cart_link(page)).to_have_text(f"Cart ({10 * added})")
        cart_link(page).click()
        expect(page.get_by_role("main").get_by_role("link", name="Checkout")).to_be_visible()
        with page.expect_navigation():
            page.get_by_label("Currency").select_option("ISK")  # htmx: the page reloads
        visit.snap("cart-over-limit")

        main = page.get_by_role("main")
        expect(main.get_by_role("alert")).to_contain_text(
            "This order comes to more than ISK 999,999, the most a single card payment can "
            "be in ISK. Remove some items from your cart, or choose another currency"
        )
        expect(main.get_by_role("link", name="Checkout")).to_have_count(0)
        page.goto("/checkout")
        expect(page.get_by_role("alert")).to_contain_text("ISK 999,999")
        expect(page.get_by_label("Card number")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile(r"^Place order"))).to_have_count(0)
        visit.snap("checkout-over-limit")
        visit.check_quiet()
