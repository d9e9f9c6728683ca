"""Sign-up, sign-in, sign-out and the account page, against a stand-in accounts."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from .test_sessions import csrf_of, session_key

PASSWORD = "correct horse battery staple"


async def post_form(shop: httpx.AsyncClient, audit, page: str, action: str, **fields: str):
    token = csrf_of(audit, (await shop.get(page)).text)
    return await shop.post(action, data={"csrf_token": token, **fields})


async def sign_up(shop: httpx.AsyncClient, audit, accounts, email: str = "ada@example.com"):
    """Sign up, then open the link accounts mailed and confirm: the confirmation's answer."""
    fields = {"given_name": "Ada", "email": email, "password": PASSWORD}
    signed_up = await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
    assert signed_up.status_code == 303, signed_up.text
    assert signed_up.headers["location"] == "/sign-up/check-email"
    return await confirm(shop, audit, accounts.links[email])


async def confirm(shop: httpx.AsyncClient, audit, token: str, password: str = PASSWORD):
    """Open the link's page and confirm with the sign-up's password, as its owner would."""
    page = await shop.get(f"/verify-email/{token}")
    assert page.status_code == 200
    fields = form_fields(audit, page.text, "/verify-email")
    assert "password" in fields  # the page asks for it
    return await shop.post("/verify-email", data={**fields, "password": password})


def form_fields(audit, html: str, action: str) -> dict[str, str]:
    """The named inputs of the form posting to `action` (its hidden fields above all)."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    return {str(f["name"]): str(f.get("value") or "") for f in audit(form).all("input")}


def has_form(page, action: str) -> bool:
    return any(f.get("action") == action for f in page.all("form"))


async def test_the_sign_up_form_asks_given_and_family_names(
    shop: httpx.AsyncClient, accounts, audit
):
    fields = {"given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.com",
              "password": PASSWORD}  # fmt: skip
    await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
    user = accounts.users["ada@example.com"]
    assert (user["given_name"], user["family_name"]) == ("Ada", "Lovelace")
    await confirm(shop, audit, accounts.links["ada@example.com"])
    page = audit((await shop.get("/account")).text)
    assert "Welcome to Mosaic, Ada." in page.plain_text  # by the given name
    assert "Lovelace" in page.plain_text  # the profile shows both


async def test_a_sign_up_page_of_two_releases_before_asks_for_a_given_name(
    shop: httpx.AsyncClient, accounts, audit
):
    """Rendered by release 1 (one "name" field): accounts takes no display name since
    v0.4.0, so the page comes back asking for the given name, and nobody is signed up."""
    fields = {"name": "Ada Lovelace", "email": "ada@example.com", "password": PASSWORD}
    again = await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
    assert again.status_code == 422
    assert "Enter your given name" in audit(again.text).plain_text
    assert accounts.users == {}


async def test_sign_up_asks_to_check_the_mail_and_the_link_signs_in(
    shop: httpx.AsyncClient, accounts, audit
):
    fields = {"given_name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    signed_up = await post_form(shop, audit, "/sign-up", "/sign-up", **fields)

    assert signed_up.status_code == 303
    assert signed_up.headers["location"] == "/sign-up/check-email"
    waiting = audit((await shop.get("/sign-up/check-email")).text)
    assert waiting.heading == "Check your e-mail"
    assert has_form(waiting, "/verify-email/resend")  # a new link can be asked for
    assert not has_form(audit((await shop.get("/")).text), "/sign-out")  # not signed in yet

    response = await confirm(shop, audit, accounts.links["ada@example.com"])
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    page = audit((await shop.get("/account")).text)
    assert page.heading == "Your account"
    assert "ada@example.com" in page.plain_text
    assert "Welcome to Mosaic, Ada." in page.plain_text
    assert any(f.get("action") == "/sign-out" for f in page.all("form"))
    assert accounts.client_addresses == ["127.0.0.1", "127.0.0.1"]  # sign-up, confirmation


async def test_sign_up_answers_the_same_whether_or_not_the_address_has_an_account(
    shop: httpx.AsyncClient, accounts, audit
):
    await sign_up(shop, audit, accounts, "ada@example.com")
    await post_form(shop, audit, "/", "/sign-out")
    answers = []
    for email in ("ada@example.com", "new@example.com"):
        fields = {"given_name": "Mallory", "email": email, "password": PASSWORD + "!"}
        answer = await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
        page = await shop.get(answer.headers["location"])
        answers.append((answer.status_code, answer.headers["location"], page.status_code,
                        audit(page.text).plain_text))  # fmt: skip
    assert answers[0] == answers[1]


async def test_a_used_link_says_what_to_do(shop: httpx.AsyncClient, accounts, audit):
    token = "unknown-or-used-token"
    response = await confirm(shop, audit, token)

    assert response.status_code == 410
    page = audit(response.text)
    assert "This link does not work any more" in page.plain_text
    assert has_form(page, "/verify-email/resend")
    assert not has_form(audit((await shop.get("/")).text), "/sign-out")


async def test_a_link_confirms_only_with_the_sign_up_s_password_and_stays_usable(
    shop: httpx.AsyncClient, accounts, audit
):
    """A stranger who signed up again with the address replaced its password: the owner,
    opening the newest link, is told their password is not that sign-up's, not signed in."""
    fields = {"given_name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
    token = accounts.links["ada@example.com"]

    refused = await confirm(shop, audit, token, "not the password chosen")
    assert refused.status_code == 403
    page = audit(refused.text)
    assert "does not match the sign-up this link was sent for" in page.plain_text
    assert "sign up again" in page.plain_text
    assert form_fields(audit, refused.text, "/verify-email")["token"] == token  # try again
    assert not has_form(audit((await shop.get("/")).text), "/sign-out")

    empty = await shop.post("/verify-email", data={**form_fields(audit, refused.text,
                            "/verify-email"), "password": ""})  # fmt: skip
    assert empty.status_code == 422
    assert "enter the password you chose" in audit(empty.text).plain_text

    assert (await confirm(shop, audit, token)).status_code == 303


async def test_signing_in_before_confirming_offers_a_new_link(
    shop: httpx.AsyncClient, accounts, audit
):
    fields = {"given_name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
    first = accounts.links["ada@example.com"]

    refused = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )
    assert refused.status_code == 403
    page = audit(refused.text)
    assert "Please confirm your e-mail address first" in page.plain_text
    hidden = form_fields(audit, refused.text, "/verify-email/resend")
    assert hidden["email"] == "ada@example.com"

    sent = await shop.post("/verify-email/resend", data=hidden)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/sign-up/check-email"
    assert accounts.link_requests == ["ada@example.com"]
    assert accounts.links["ada@example.com"] != first
    assert (await confirm(shop, audit, accounts.links["ada@example.com"])).status_code == 303


async def test_flash_messages_show_once(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)

    first = audit((await shop.get("/")).text).plain_text
    second = audit((await shop.get("/")).text).plain_text

    assert "Welcome to Mosaic, Ada." in first
    assert "Welcome to Mosaic, Ada." not in second


async def test_a_rejected_password_says_why(shop: httpx.AsyncClient, audit):
    fields = {"given_name": "Ada", "email": "ada@example.com", "password": "short"}
    response = await post_form(shop, audit, "/sign-up", "/sign-up", **fields)

    assert response.status_code == 422
    assert "Use at least 12 characters." in audit(response.text).plain_text


async def test_sign_in_gets_a_new_session_id(shop: httpx.AsyncClient, accounts, audit, redis_url):
    await sign_up(shop, audit, accounts)
    await post_form(shop, audit, "/", "/sign-out")
    await shop.get("/")
    before = shop.cookies["session"]

    response = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )

    after = shop.cookies["session"]
    assert response.status_code == 303
    assert after != before
    async with Redis.from_url(redis_url) as valkey:
        assert not await valkey.exists(session_key(before))
        assert await valkey.exists(session_key(after))


async def test_wrong_password_is_refused_without_saying_which_part(
    shop: httpx.AsyncClient, accounts, audit
):
    await sign_up(shop, audit, accounts)
    await post_form(shop, audit, "/", "/sign-out")

    response = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="ada@example.com", password="nope" * 4
    )

    assert response.status_code == 401
    assert "don't match an account" in audit(response.text).plain_text


async def test_sign_out_needs_csrf(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)

    response = await shop.post("/sign-out", data={})

    assert response.status_code == 403
    assert (await shop.get("/account")).status_code == 200  # still signed in


async def test_after_sign_out_the_old_cookie_is_refused(
    shop: httpx.AsyncClient, app, accounts, audit
):
    await sign_up(shop, audit, accounts)
    old = shop.cookies["session"]

    response = await post_form(shop, audit, "/", "/sign-out")

    assert response.status_code == 303
    assert not accounts.sessions  # accounts ended the session too
    assert "You're signed out." in audit((await shop.get("/")).text).plain_text
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as thief:
        thief.cookies.set("session", old)
        stolen = await thief.get("/account")
    assert stolen.status_code == 303
    assert stolen.headers["location"].startswith("/sign-in")


async def test_account_page_needs_a_signed_in_user(shop: httpx.AsyncClient):
    response = await shop.get("/account")

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account"


async def test_an_expired_access_token_is_refreshed(shop: httpx.AsyncClient, accounts, audit):
    accounts.access_seconds = 0  # the token handed out at sign-in is already stale
    await sign_up(shop, audit, accounts)
    accounts.access_seconds = 600

    response = await shop.get("/account")

    assert response.status_code == 200
    assert accounts.refreshes >= 1


async def test_an_ended_accounts_session_means_signed_out(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)
    accounts.sessions.clear()  # e.g. a password change elsewhere

    response = await shop.get("/account")

    assert response.status_code == 303
    assert "Sign in" in audit((await shop.get("/")).text).plain_text


async def test_addresses_can_be_added_and_removed(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)
    address = {
        "recipient": "Ada Lovelace", "line1": "12 St James's Square", "line2": "",
        "city": "London", "region": "", "postal_code": "SW1Y 4JH", "country": "gb",
    }  # fmt: skip

    added = await post_form(shop, audit, "/account", "/account/addresses", **address)
    page = audit((await shop.get("/account")).text)

    assert added.status_code == 303
    assert "12 St James's Square" in page.plain_text
    assert accounts.addresses["ada@example.com"][0]["country"] == "GB"
    removal = next(f["action"] for f in page.all("form") if "/delete" in str(f["action"]))
    await post_form(shop, audit, "/account", str(removal))
    assert "No saved addresses yet." in audit((await shop.get("/account")).text).plain_text


async def test_a_bad_address_is_explained(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)

    await post_form(shop, audit, "/account", "/account/addresses", recipient="Ada", city="")

    assert "Please check the address" in audit((await shop.get("/account")).text).plain_text


async def test_too_many_sign_ins_say_how_long_to_wait(shop: httpx.AsyncClient, accounts, audit):
    accounts.refuse_sign_in = 429

    response = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"  # accounts' wait, told to the browser too
    assert "Please wait 120 seconds." in audit(response.text).plain_text


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    shop: httpx.AsyncClient, accounts, audit
):
    token = csrf_of(audit, (await shop.get("/sign-in")).text)
    fields = {"csrf_token": token, "email": "ada@example.com", "password": PASSWORD}

    await shop.post("/sign-in", data=fields, headers={"X-Forwarded-For": "198.51.100.9"})

    assert accounts.client_addresses == ["127.0.0.1"]  # the peer; no TRUSTED_PROXIES set


def header_link(audit, html: str, text: str) -> str:
    page = audit(html)
    links = [a for a in page.all("a") if a.get("class") == "account-nav__link"]
    hrefs = [str(a["href"]) for a in links]
    start = {"Sign in": "/sign-in", "Create account": "/sign-up"}[text]
    return next(href for href in hrefs if href.startswith(start))


def next_of(href: str) -> str | None:
    return parse_qs(urlsplit(href).query).get("next", [None])[0]


async def test_sign_in_returns_to_the_page_it_was_asked_from(
    shop: httpx.AsyncClient, accounts, audit
):
    await sign_up(shop, audit, accounts)
    await post_form(shop, audit, "/", "/sign-out")
    product = await shop.get("/product/ceramic-pour-over?ref=1")
    link = header_link(audit, product.text, "Sign in")

    assert next_of(link) == "/product/ceramic-pour-over?ref=1"
    response = await post_form(
        shop, audit, link, "/sign-in", email="ada@example.com", password=PASSWORD,
        next=hidden_next(audit, (await shop.get(link)).text),
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/product/ceramic-pour-over?ref=1"


async def test_sign_up_returns_to_the_page_it_was_asked_from(
    shop: httpx.AsyncClient, accounts, audit
):
    link = header_link(audit, (await shop.get("/cart")).text, "Create account")
    form = (await shop.get(link)).text

    fields = {"given_name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    response = await post_form(
        shop, audit, link, "/sign-up", next=hidden_next(audit, form), **fields
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-up/check-email"
    confirmed = await confirm(shop, audit, accounts.links["ada@example.com"])
    assert confirmed.headers["location"] == "/cart"
    # ... and the way between sign-in and sign-up keeps where to return.
    other = next(
        a["href"] for a in audit(form).all("a") if str(a.get("href")).startswith("/sign-in")
    )
    assert next_of(str(other)) == "/cart"


async def test_without_a_page_to_return_to_the_account_page_it_is(
    shop: httpx.AsyncClient, accounts, audit
):
    home = await shop.get("/")

    assert header_link(audit, home.text, "Sign in") == "/sign-in"
    response = await sign_up(shop, audit, accounts)
    assert response.headers["location"] == "/account"


def hidden_next(audit, html: str) -> str:
    """The sign-in or sign-up form's own `next` (the currency form has one too)."""
    form = html[html.index('class="auth__form"') :]
    return str(next(f["value"] for f in audit(form).all("input") if f.get("name") == "next"))


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "http:evil.example",
        "/sign-in?next=/cart",
        "/sign-up/check-email",
        "/verify-email/some-token",
    ],
)
async def test_the_way_back_after_signing_in_is_never_another_site(
    shop: httpx.AsyncClient, accounts, audit, target
):
    await sign_up(shop, audit, accounts, "grace@example.com")
    await post_form(shop, audit, "/", "/sign-out")
    page = (await shop.get("/sign-in", params={"next": target})).text

    assert hidden_next(audit, page) == "/account"
    signed_in = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="grace@example.com", password=PASSWORD,
        next=target,
    )  # fmt: skip
    assert signed_in.headers["location"] == "/account"
    await post_form(shop, audit, "/", "/sign-out")
    fields = {"given_name": "Bo", "email": "bo@example.com", "password": PASSWORD, "next": target}
    await post_form(shop, audit, "/sign-up", "/sign-up", **fields)
    confirmed = await confirm(shop, audit, accounts.links["bo@example.com"])
    assert confirmed.headers["location"] == "/account"


async def test_removing_an_address_that_is_not_yours_says_so(
    shop: httpx.AsyncClient, accounts, audit
):
    await sign_up(shop, audit, accounts)
    accounts.addresses["someone@example.com"] = [{"id": "theirs123", "city": "Paris"}]

    response = await post_form(shop, audit, "/account", "/account/addresses/theirs123/delete")
    page = audit((await shop.get("/account")).text).plain_text

    assert response.status_code == 303
    assert "That address was not found." in page
    assert "Address removed." not in page
    assert accounts.addresses["someone@example.com"] == [{"id": "theirs123", "city": "Paris"}]


async def test_an_address_id_that_cannot_exist_is_not_found_either(
    shop: httpx.AsyncClient, accounts, audit
):
    await sign_up(shop, audit, accounts)

    await post_form(shop, audit, "/account", "/account/addresses/not%20an%20id!/delete")

    assert "That address was not found." in audit((await shop.get("/account")).text).plain_text


async def test_a_refused_address_that_is_not_the_form_s_fault_says_what_accounts_said(
    shop: httpx.AsyncClient, accounts, audit
):
    await sign_up(shop, audit, accounts)
    accounts.refuse_addresses = 409

    await post_form(shop, audit, "/account", "/account/addresses", recipient="Ada", city="Oslo")

    text = audit((await shop.get("/account")).text).plain_text
    assert "Simulated refusal." in text
    assert "Please check the address" not in text


async def test_too_many_sign_ins_says_to_wait(shop: httpx.AsyncClient, accounts, audit):
    await sign_up(shop, audit, accounts)
    await post_form(shop, audit, "/", "/sign-out")
    accounts.refuse_sign_in = 429

    response = await post_form(
        shop, audit, "/sign-in", "/sign-in", email="ada@example.com", password=PASSWORD
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "120"
    assert "Please wait 120 seconds." in audit(response.text).plain_text


@pytest.mark.parametrize("path", ["/verify-email/not!a*token", "/verify-email/" + "x" * 300])
async def test_a_link_that_cannot_be_one_is_a_page_not_an_error(
    shop: httpx.AsyncClient, accounts, audit, path: str
):
    response = await shop.get(path)

    assert response.status_code == 400  # the shop's page for a link that is not one
    assert response.headers["content-type"].startswith("text/html")
    assert "That link doesn't look right" in audit(response.text).plain_text
