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
from mosaic_testing import (
    MODES,
    VERIFY_LINK,
    Forms,
    UpProcess,
    up_args,
    verification_link,
    wait_until,
)

pytestmark = pytest.mark.system

PASSWORD = "violet harbour lantern drifts quietly"
ADDRESS = {
    "recipient": "Ada Lovelace", "line1": "12 St James's Square", "line2": "",
    "city": "London", "region": "", "postal_code": "SW1Y 4JH", "country": "GB",
}  # fmt: skip


@dataclass
class Shop:
    up: UpProcess
    url: str
    products: list[str]

    def visitor(self, address: str | None = None) -> httpx.Client:
        """A browser of its own: its own cookie jar, redirects left for the test to see;
        from another loopback `address` (e.g. 127.0.0.2) to be another client."""
        transport = httpx.HTTPTransport(local_address=address) if address else None
        return httpx.Client(base_url=self.url, timeout=20, transport=transport)


@pytest.fixture(scope="module", params=MODES)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """One shop per mode (separate processes, then all in one) for the whole module."""
    home = tmp_path_factory.mktemp("storefront-security") / "home"
    with UpProcess(home, free_port(), *up_args(request.param)) as up:
        url = up.wait_ready(timeout=120)
        products = Forms(httpx.get(url + "/", timeout=20).text).products()
        assert len(products) >= 2, "the seeded catalog shows products on the front page"
        yield Shop(up, url, products)


def open_page(browser: httpx.Client, path: str) -> Forms:
    response = browser.get(path)
    assert response.status_code == 200, path
    return Forms(response.text)


def submit(browser: httpx.Client, path: str, action: str, **fields: str) -> httpx.Response:
    """Open the page, then post its form as a browser would: its hidden fields plus ours."""
    return browser.post(action, data={**open_page(browser, path).form(action), **fields})


def sign_up(shop: Shop, browser: httpx.Client, name: str) -> str:
    """Sign up and confirm with the link from the dev mailbox: signed in; the address."""
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:10]}@example.com"
    given, _, family = name.rpartition(" ")  # typed into the form's two name fields
    answer = submit(
        browser, "/sign-up", "/sign-up", given_name=given, family_name=family, email=email,
        password=PASSWORD,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/sign-up/check-email"
    link = verification_link(shop.up.mail, email)
    confirmed = submit(browser, link, "/verify-email", password=PASSWORD)
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"] == "/account"
    return email


def next_link(shop: Shop, email: str, seen: set[str]) -> str:
    """The first verification link mailed to `email` that is not one of `seen`."""
    found: list[str] = []

    def arrived() -> bool:
        links = (
            VERIFY_LINK.search(m.get("text") or "") for m in shop.up.mail() if email in m["to"]
        )
        found[:] = [link[1] for link in links if link and link[1] not in seen]
        return bool(found)

    wait_until(arrived, 60, f"a new verification link mailed to {email}")
    return found[0]


def cart_of(browser: httpx.Client) -> tuple[list[str], int]:
    """The products on the cart page, and the header's item count there."""
    page = open_page(browser, "/cart")
    return page.cart_lines(), page.cart_count


def addresses_of(page: Forms) -> list[str]:
    return page.actions(r"/account/addresses/([^/]+)/delete")


def is_friendly_page(response: httpx.Response) -> bool:
    text = response.text
    return (
        response.headers["content-type"].startswith("text/html")
        and text.lstrip().lower().startswith("<!doctype html>")
        and "Traceback" not in text
        and 'File "' not in text
    )


def without_token(fields: dict[str, str], token: str | None) -> dict[str, str]:
    """The form's fields with its CSRF token left out (None) or replaced."""
    forged = {name: value for name, value in fields.items() if name != "csrf_token"}
    return forged if token is None else {**forged, "csrf_token": token}


def test_forms_without_this_sessions_csrf_token_are_refused_and_change_nothing(
    shop: Shop,
) -> None:
    product = shop.products[0]
    with shop.visitor() as shopper, shop.visitor() as other:
        fields = open_page(shopper, f"/product/{product}").form("/cart/items")
        others_token = open_page(other, "/").form("/currency")["csrf_token"]
        assert others_token != fields["csrf_token"]

        for token in (None, "", "forged-" + fields["csrf_token"][7:], others_token):
            refused = shopper.post(
                "/cart/items", data={**without_token(fields, token), "quantity": "3"}
            )
            assert refused.status_code == 403, token
            assert is_friendly_page(refused)
            assert "That form couldn't be accepted" in html.unescape(refused.text)
        assert cart_of(shopper) == ([], 0)

        # The same form with its own token goes through: the refusals were the token's doing.
        accepted = shopper.post("/cart/items", data={**fields, "quantity": "3"})
        assert accepted.status_code == 303
        assert cart_of(shopper) == ([product], 3)

    with shop.visitor() as owner, shop.visitor() as intruder:
        email = sign_up(shop, owner, "Grace Hopper")
        sign_in = open_page(intruder, "/sign-in").form("/sign-in")
        credentials = {"email": email, "password": PASSWORD}
        for token in (None, "not-the-token"):
            answer = intruder.post(
                "/sign-in", data={**without_token(sign_in, token), **credentials}
            )
            assert answer.status_code == 403
        assert intruder.get("/account").status_code == 303  # still nobody
        assert open_page(intruder, "/").signed_in_as is None

        # Sign-out needs the token too: a cross-site post cannot sign the owner out.
        assert owner.post("/sign-out", data={}).status_code == 403
        assert owner.post("/sign-out", data={"csrf_token": "x"}).status_code == 403
        assert open_page(owner, "/account").signed_in_as == "Grace Hopper"


def test_guessing_a_password_is_stopped_with_a_friendly_429(shop: Shop) -> None:
    """accounts allows 10 failed sign-ins per account from one client in 15 minutes; the
    shop says so kindly."""
    with shop.visitor() as owner:
        email = sign_up(shop, owner, "Katherine Johnson")
    with shop.visitor() as guesser:

        def attempt(password: str) -> httpx.Response:
            return submit(guesser, "/sign-in", "/sign-in", email=email, password=password)

        refusals = [attempt(f"guess number {n} of many") for n in range(10)]
        locked = attempt("one more guess then")
        right_password = attempt(PASSWORD)

    assert [r.status_code for r in refusals] == [401] * 10
    assert all(is_friendly_page(r) for r in refusals)
    assert locked.status_code == 429
    assert is_friendly_page(locked)
    assert "Too many attempts for now." in locked.text
    wait = re.search(r"Please wait (\d+) seconds\.", locked.text)
    assert wait, "the page says how long to wait"
    assert 0 < int(wait[1]) <= 900  # within accounts' 15-minute window
    assert locked.headers.get("retry-after") == wait[1]  # and tells machines the same

    # While locked, even the right password is refused: the limit is no guessing oracle.
    assert right_password.status_code == 429
    assert Forms(right_password.text).signed_in_as is None


def test_a_strangers_failures_do_not_lock_the_owner_out_from_another_client(
    shop: Shop,
) -> None:
    """Item 5: 10 failures from client A lock A out, not the owner on client B (OWASP)."""
    with shop.visitor() as owner:
        email = sign_up(shop, owner, "Mary Jackson")
    with shop.visitor("127.0.0.2") as stranger, shop.visitor("127.0.0.3") as owner:

        def attempt(browser: httpx.Client, password: str) -> httpx.Response:
            return submit(browser, "/sign-in", "/sign-in", email=email, password=password)

        refusals = [attempt(stranger, f"guess number {n} of many") for n in range(10)]
        assert [r.status_code for r in refusals] == [401] * 10
        assert attempt(stranger, "one more guess then").status_code == 429

        signed_in = attempt(owner, PASSWORD)
        assert signed_in.status_code == 303, signed_in.text
        assert open_page(owner, "/account").signed_in_as == "Mary Jackson"
        # ... while the stranger's client stays held back, the right password or not.
        assert attempt(stranger, PASSWORD).status_code == 429


def test_sign_up_tells_nobody_whether_an_address_has_an_account(shop: Shop) -> None:
    """Item 6: the same answer for a taken and a free address; the taken address's owner
    is told by mail, the new one gets a link that works once; nobody is signed in by
    signing up."""
    with shop.visitor() as owner:
        taken = sign_up(shop, owner, "Dorothy Vaughan")
    free = f"free.{uuid.uuid4().hex[:10]}@example.com"
    answers = []
    for email in (taken, free):
        with shop.visitor() as someone:
            answer = submit(someone, "/sign-up", "/sign-up", given_name="Mallory", email=email,
                            password=PASSWORD + " too")  # fmt: skip
            page = someone.get(answer.headers["location"])
            answers.append((answer.status_code, answer.headers["location"], page.status_code,
                            Forms(page.text).text))  # fmt: skip
            assert Forms(page.text).signed_in_as is None
            assert someone.get("/account").status_code == 303  # not signed in
    assert answers[0] == answers[1]
    assert answers[0][1] == "/sign-up/check-email"

    def mail_to(email: str, subject: str) -> list[dict[str, object]]:
        return [m for m in shop.up.mail() if email in m["to"] and m["subject"] == subject]

    wait_until(lambda: bool(mail_to(taken, "Someone tried to sign up with your e-mail address")),
               60, "the owner's note")  # fmt: skip
    # The new address: unconfirmed, it cannot sign in; its link works once.
    link = verification_link(shop.up.mail, free)
    with shop.visitor() as newcomer:
        early = submit(newcomer, "/sign-in", "/sign-in", email=free, password=PASSWORD + " too")
        assert early.status_code == 403
        assert "confirm your e-mail address first" in html.unescape(early.text)
        confirmed = submit(newcomer, link, "/verify-email", password=PASSWORD + " too")
        assert confirmed.status_code == 303
        assert open_page(newcomer, "/account").signed_in_as == "Mallory"
    with shop.visitor() as replay:
        again = submit(replay, link, "/verify-email", password=PASSWORD + " too")
        assert again.status_code == 410
        assert is_friendly_page(again)
        assert open_page(replay, "/").signed_in_as is None
    # The owner's account did not change: no link went to it, the old password works.
    assert len(mail_to(taken, "Confirm your e-mail address for Mosaic")) == 1
    with shop.visitor() as owner:
        back = submit(owner, "/sign-in", "/sign-in", email=taken, password=PASSWORD)
        assert back.status_code == 303
        assert open_page(owner, "/account").signed_in_as == "Dorothy Vaughan"


def test_a_stranger_who_signs_up_again_with_an_unconfirmed_address_cannot_take_it(
    shop: Shop,
) -> None:
    """Pre-hijacking: the owner signs up (not yet confirmed); a stranger signs up with the
    same address and their own password, which replaces the owner's and mails the owner a
    new link. Opening that link, the owner must not confirm the stranger's password: the
    link asks for the sign-up's password, and the stranger never gets in."""
    email = f"grace.{uuid.uuid4().hex[:10]}@example.com"
    strangers = PASSWORD + " mallory"
    with shop.visitor() as owner, shop.visitor("127.0.0.4") as stranger:
        mine = submit(
            owner, "/sign-up", "/sign-up", given_name="Grace", email=email, password=PASSWORD
        )
        assert mine.status_code == 303, mine.text
        first = verification_link(shop.up.mail, email)
        theirs = submit(stranger, "/sign-up", "/sign-up", given_name="Mallory", email=email,
                        password=strangers)  # fmt: skip
        assert theirs.status_code == 303, theirs.text
        newest = next_link(shop, email, seen={first})

        # The owner opens the newest link and enters their own password: refused, kindly.
        refused = submit(owner, newest, "/verify-email", password=PASSWORD)
        assert refused.status_code == 403, refused.text
        assert is_friendly_page(refused)
        assert "does not match the sign-up this link was sent for" in html.unescape(refused.text)
        assert open_page(owner, "/").signed_in_as is None
        # The stranger, who knows their password but not the link, cannot sign in.
        early = submit(stranger, "/sign-in", "/sign-in", email=email, password=strangers)
        assert early.status_code == 403  # "confirm your address first"
        assert open_page(stranger, "/").signed_in_as is None

        # The owner signs up again (their password wins back) and confirms in one step.
        again = submit(
            owner, "/sign-up", "/sign-up", given_name="Grace", email=email, password=PASSWORD
        )
        assert again.status_code == 303, again.text
        own = next_link(shop, email, seen={first, newest})
        assert submit(owner, own, "/verify-email", password=strangers).status_code == 403
        confirmed = submit(owner, own, "/verify-email", password=PASSWORD)
        assert confirmed.status_code == 303, confirmed.text
        assert open_page(owner, "/account").signed_in_as == "Grace"

        locked_out = submit(stranger, "/sign-in", "/sign-in", email=email, password=strangers)
        assert locked_out.status_code == 401
        assert open_page(stranger, "/").signed_in_as is None


def test_after_sign_out_the_old_cookies_are_an_anonymous_visitor(shop: Shop) -> None:
    with shop.visitor() as browser:
        submit(browser, "/", "/currency", currency="EUR")  # a change: a session is stored
        before_sign_in = browser.cookies["session"]
        sign_up(shop, browser, "Hedy Lamarr")
        signed_in = browser.cookies["session"]
        assert signed_in != before_sign_in  # sign-in moved the session to a new id
        assert open_page(browser, "/account").signed_in_as == "Hedy Lamarr"

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
            assert Forms(home.text).signed_in_as is None
            assert "/sign-in" in Forms(home.text).links
            # The old id is not renewed: the browser is told to forget it, and nothing was
            # changed, so no new session is stored either.
            forget = [c for c in home.headers.get_list("set-cookie") if c.startswith("session=")]
            assert forget == ["session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"]


def test_one_shopper_cannot_reach_anothers_cart_profile_or_addresses(shop: Shop) -> None:
    product = shop.products[1]
    with shop.visitor() as ada, shop.visitor() as bob:
        ada_email = sign_up(shop, ada, "Ada Lovelace")
        added = submit(ada, f"/product/{product}", "/cart/items", quantity="2")
        assert added.status_code == 303
        assert submit(ada, "/account", "/account/addresses", **ADDRESS).status_code == 303
        ada_page = open_page(ada, "/account")
        [ada_address] = addresses_of(ada_page)
        assert ADDRESS["line1"] in html.unescape(ada_page.html)

        bob_email = sign_up(shop, bob, "Bob Kahn")
        bob_page = open_page(bob, "/account")
        seen_by_bob = html.unescape(bob_page.html)
        assert bob_email in seen_by_bob
        assert ada_email not in seen_by_bob
        assert ADDRESS["line1"] not in seen_by_bob
        assert ada_address not in seen_by_bob
        assert cart_of(bob) == ([], 0)

        # Bob posts Ada's address id and product through his own forms, with his valid token.
        token = {"csrf_token": bob_page.form("/account/addresses")["csrf_token"]}
        removal = bob.post(f"/account/addresses/{ada_address}/delete", data=token)
        assert removal.status_code in (303, 403, 404)
        changed = bob.post(f"/cart/items/{product}", data={**token, "quantity": "7"})
        assert changed.status_code in (303, 403, 404)
        removed = bob.post(f"/cart/items/{product}/remove", data=token)
        assert removed.status_code in (303, 403, 404)

        ada_page = open_page(ada, "/account")
        assert addresses_of(ada_page) == [ada_address]
        assert ADDRESS["line1"] in html.unescape(ada_page.html)
        assert bob_email not in html.unescape(ada_page.html)
        ada_cart = open_page(ada, "/cart")
        assert (ada_cart.cart_lines(), ada_cart.cart_count) == ([product], 2)
        assert ada_cart.selected[f"quantity-{product}"] == "2"
        assert cart_of(bob) == ([], 0)
        assert addresses_of(open_page(bob, "/account")) == []


def test_a_new_visitor_sees_nothing_of_the_shoppers_before(shop: Shop) -> None:
    """Anonymous carts too belong to one session: a fresh visitor's cart is empty."""
    with shop.visitor() as first, shop.visitor() as second:
        assert submit(first, f"/product/{shop.products[0]}", "/cart/items").status_code == 303
        assert cart_of(first) == ([shop.products[0]], 1)
        assert cart_of(second) == ([], 0)
