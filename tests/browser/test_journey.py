"""The shopper's journey in a real browser, against the whole shop under `mosaic up`.

Browse, change currency, fill the cart, sign up, sign out, sign in again and find the cart
kept; then the same basics with JavaScript off. Every page is screenshotted (full page) into
the artifacts folder, and the browser must report no console error, no failed page script
and no Content-Security-Policy violation (Chromium reports those as console errors) on the
way. Selectors are roles, labels and visible text, as a shopper (or a screen reader) finds
things, so that markup and styling can change underneath.
"""

import re
import uuid
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
from mosaic_testing import Mail, UpProcess, verification_link
from playwright.sync_api import Browser, ConsoleMessage, Error, Locator, Page, Response, expect

pytestmark = [pytest.mark.system, pytest.mark.browser]

# Generous for one page on a busy 2-core machine; a real hang still fails within seconds.
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)

EURO_PRICE = re.compile(r"€(\d{1,3}(?:,\d{3})*\.\d{2})")
DOLLAR_PRICE = re.compile(r"\$\d")
YEN_PRICE = re.compile(r"¥\d{1,3}(?:,\d{3})*(?![.\d])")  # no minor unit: ¥1,500
PRODUCT_PAGE = re.compile(r"/product/[^/?#]+$")
PASSWORD = "correct horse battery staple"

# A full-page screenshot does not scroll, so lazy pictures below the fold would stay blank:
# load them all first, and return those that do not show (run by Playwright, outside the
# page's Content-Security-Policy, also with JavaScript off).
LOAD_PICTURES = """async () => {
    const pictures = Array.from(document.images);
    for (const picture of pictures) picture.loading = "eager";
    await Promise.all(pictures.map((picture) => picture.decode().catch(() => {})));
    return pictures.filter((picture) => picture.naturalWidth === 0).map((picture) => picture.src);
}"""


class Visit:
    """One shopper in their own browser context: every page they see is screenshotted,
    everything the browser complains about is kept for the end of the test."""

    def __init__(
        self, browser: Browser, shop: str, artifacts: Path, name: str, *, javascript: bool = True
    ) -> None:
        self.context = browser.new_context(
            base_url=shop, java_script_enabled=javascript, viewport={"width": 1280, "height": 800}
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.problems: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", self._response)
        self.artifacts, self.name, self.steps = artifacts, name, 0
        self.checked = False

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def snap(self, what: str) -> None:
        """Screenshot the whole page as the next numbered step, every picture loaded."""
        broken = self.page.evaluate(LOAD_PICTURES)
        self.problems.extend(f"picture not shown on {self.page.url}: {src}" for src in broken)
        self.steps += 1
        path = self.artifacts / f"{self.name}-{self.steps:02d}-{what}.png"
        self.page.screenshot(path=path, full_page=True)

    def report(self) -> str:
        return "the browser reported:\n" + "\n".join(self.problems)

    def check_quiet(self) -> None:
        """Fail if the browser reported a console error, a page error or a failed request."""
        self.checked = True
        assert not self.problems, self.report()

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
                if self.problems and not self.checked:
                    # What the browser complained about often explains the failure.
                    exc.add_note(self.report())
                self.snap("failed")
        except Error:
            pass  # the page may be what failed; the original error says more
        finally:
            self.context.close()


def header(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Your account")


def main(page: Page) -> Locator:
    return page.get_by_role("main")


def cart_link(page: Page) -> Locator:
    """The header's link to the cart, "Cart (N)"."""
    return header(page).get_by_role("link", name=re.compile(r"^Cart\b"))


def euros(text: str) -> Decimal:
    found = EURO_PRICE.search(text)
    assert found, f"no price in euros in {text!r}"
    return Decimal(found.group(1).replace(",", ""))


def open_category(page: Page, link: Locator) -> None:
    name = link.inner_text().strip()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def open_first_product(page: Page) -> str:
    """Follow the first link to a product in the page's main part; the product's name."""
    main(page).locator("a[href^='/product/']").first.click()
    expect(page).to_have_url(PRODUCT_PAGE)
    return page.get_by_role("heading", level=1).inner_text().strip()


def add_to_cart(page: Page) -> None:
    page.get_by_role("button", name="Add to cart").click()
    # A flash after the redirect without JavaScript, htmx's answer in place with it.
    added = page.get_by_role("status").filter(has_text=re.compile("added", re.IGNORECASE))
    expect(added.first).to_be_visible()


def test_a_shopper_browses_fills_the_cart_signs_up_and_finds_it_after_signing_in_again(
    browser: Browser, up: UpProcess, shop: str, artifacts: Path
) -> None:
    with Visit(browser, shop, artifacts, "journey") as visit:
        journey(visit, up.mail)


def journey(visit: Visit, mail: Mail) -> None:
    page = visit.page

    page.goto("/")
    expect(page).to_have_title(re.compile("Mosaic"))
    expect(main(page).get_by_role("heading", level=1)).to_be_visible()
    visit.snap("home")

    categories = page.get_by_role("navigation", name="Categories").get_by_role("link")
    open_category(page, categories.nth(0))
    visit.snap("category")
    first = open_first_product(page)
    expect(main(page)).to_contain_text(DOLLAR_PRICE)
    visit.snap("product")

    # With JavaScript the choice applies at once (htmx reloads the page); no "Set" to press.
    page.get_by_label("Currency").select_option("EUR")
    expect(main(page)).to_contain_text(EURO_PRICE)
    expect(page.get_by_role("heading", level=1)).to_have_text(first)
    expect(main(page)).not_to_contain_text(DOLLAR_PRICE)
    visit.snap("product-in-euros")

    add_to_cart(page)
    expect(cart_link(page)).to_have_text("Cart (1)")
    visit.snap("added-first")

    open_category(page, categories.nth(1))
    expect(main(page)).to_contain_text(EURO_PRICE)
    visit.snap("second-category")
    second = open_first_product(page)
    assert second != first
    add_to_cart(page)
    expect(cart_link(page)).to_have_text("Cart (2)")
    visit.snap("added-second")

    email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
    header(page).get_by_role("link", name="Create account").click()
    page.get_by_label("Given name").fill("Ada")
    page.get_by_label("Family name").fill("Shopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    visit.snap("sign-up")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    expect(header(page).get_by_role("link", name="Sign in")).to_be_visible()  # not yet
    visit.snap("check-your-email")

    page.goto(verification_link(mail, email))  # the link in the mail, in the same browser
    page.get_by_label("Password").fill(PASSWORD)  # the sign-up's: only its owner confirms
    page.get_by_role("button", name="Confirm my address").click()
    expect(header(page).get_by_role("link", name="Ada Shopper")).to_be_visible()
    expect(cart_link(page)).to_have_text("Cart (2)")
    visit.snap("signed-up")

    header(page).get_by_role("button", name="Sign out").click()
    expect(header(page).get_by_role("link", name="Sign in")).to_be_visible()
    expect(cart_link(page)).to_have_text("Cart (0)")
    visit.snap("signed-out")

    header(page).get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(header(page).get_by_role("link", name="Ada Shopper")).to_be_visible()
    expect(cart_link(page)).to_have_text("Cart (2)")
    visit.snap("signed-in")

    cart_link(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    # Text as in the page, not as styled (headers may be shown in capitals).
    columns = [text.strip() for text in main(page).get_by_role("columnheader").all_text_contents()]
    price_at, total_at = columns.index("Price"), columns.index("Total")
    lines = main(page).get_by_role("row").filter(has=page.get_by_role("combobox"))
    expect(lines).to_have_count(2)
    totals = []
    for name in (first, second):
        line = lines.filter(has=page.get_by_role("link", name=name, exact=True))
        expect(line).to_have_count(1)
        expect(page.get_by_label(f"Quantity of {name}")).to_have_value("1")
        cells = line.get_by_role("cell").all_text_contents()
        assert euros(cells[total_at]) == euros(cells[price_at])
        totals.append(euros(cells[total_at]))
    assert euros(main(page).get_by_text("Subtotal").text_content() or "") == sum(totals)
    visit.snap("cart")

    visit.check_quiet()


def test_without_javascript_a_shopper_can_still_pick_a_currency_fill_the_cart_and_see_it(
    browser: Browser, shop: str, artifacts: Path
) -> None:
    with Visit(browser, shop, artifacts, "no-js", javascript=False) as visit:
        page = visit.page
        page.goto("/")
        name = open_first_product(page)
        page.get_by_label("Currency").select_option("JPY")
        page.get_by_role("button", name="Set").click()
        expect(main(page)).to_contain_text(YEN_PRICE)
        expect(main(page)).not_to_contain_text(DOLLAR_PRICE)
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        visit.snap("product-in-yen")
        add_to_cart(page)
        expect(cart_link(page)).to_have_text("Cart (1)")
        visit.snap("added")
        cart_link(page).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
        expect(main(page).get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_label(f"Quantity of {name}")).to_have_value("1")
        expect(main(page).get_by_text("Subtotal")).to_contain_text(YEN_PRICE)
        visit.snap("cart")
        visit.check_quiet()
