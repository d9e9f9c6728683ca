"""Sessions live in a real Valkey, under a hash of the opaque id the browser holds, and only
once the visitor has changed something. Forms need the CSRF token signed from a cookie."""

import hashlib
from typing import Any

import httpx
import pytest
from chassis import Cache
from frontend.web.sessions import SessionStore
from redis.asyncio import Redis

# Pages a visitor without cookies may open; none of them may store anything for them.
LOOKING = [
    "/", "/?page=2", "/category/coffee", "/product/ceramic-pour-over", "/search?q=mug",
    "/cart", "/checkout", "/account", "/account/orders", "/sign-in", "/sign-up", "/nowhere",
    "/product/no-such-product",
]  # fmt: skip


def session_key(session_id: str) -> str:
    return "frontend:session:" + hashlib.sha256(session_id.encode()).hexdigest()


async def frontend_keys(backing: Any) -> list[bytes]:
    """Every frontend key, listed with the admin's credentials (the frontend may not SCAN)."""
    async with Redis.from_url(backing.admin_redis_url) as admin:
        return sorted([key async for key in admin.scan_iter(match="frontend:*", count=1000)])


async def choose_currency(shop: httpx.AsyncClient, audit: Any, code: str = "EUR") -> None:
    """A first change worth keeping: the session is stored from here on."""
    token = csrf_of(audit, (await shop.get("/")).text)
    answer = await shop.post("/currency", data={"csrf_token": token, "currency": code})
    assert answer.status_code == 303


def csrf_of(audit, html: str) -> str:
    fields = [f for f in audit(html).all("input") if f.get("name") == "csrf_token"]
    assert fields, "the page has no form with a CSRF token"
    return str(fields[0]["value"])


def cookie_named(response: httpx.Response, name: str) -> tuple[str, set[str]]:
    """The value and attributes of the Set-Cookie for `name` (fails if there is none)."""
    for cookie in response.headers.get_list("set-cookie"):
        found, _, rest = cookie.partition("=")
        if found == name:
            value, *attributes = rest.split(";")
            return value, {a.strip() for a in attributes}
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


async def test_first_visit_gets_only_an_opaque_http_only_lax_csrf_cookie(
    shop: httpx.AsyncClient,
):
    response = await shop.get("/")

    value, attributes = cookie_named(response, "csrf")
    assert len(value) >= 43  # 32 random bytes, base64url
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= attributes
    assert "Secure" not in attributes  # plain http: a Secure cookie would never come back
    assert "session" not in shop.cookies  # nothing stored, so nothing to name


async def test_the_first_change_gets_an_opaque_http_only_lax_session_cookie(
    shop: httpx.AsyncClient, audit
):
    token = csrf_of(audit, (await shop.get("/")).text)

    response = await shop.post("/currency", data={"csrf_token": token, "currency": "EUR"})

    value, attributes = cookie_named(response, "session")
    assert len(value) >= 43
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= attributes
    assert "Secure" not in attributes


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(shop: httpx.AsyncClient):
    response = await shop.get("/", headers={"X-Forwarded-Proto": "https"})

    # No TRUSTED_PROXIES: the peer's claim is not believed.
    _, attributes = cookie_named(response, "csrf")
    assert "Secure" not in attributes


async def test_session_data_is_in_valkey_under_a_hash_of_the_cookie(
    shop: httpx.AsyncClient, redis_url: str, backing, audit
):
    await choose_currency(shop, audit)
    session_id = shop.cookies["session"]

    async with Redis.from_url(redis_url) as valkey:
        assert await valkey.exists(session_key(session_id))
        assert 0 < await valkey.ttl(session_key(session_id)) <= 7 * 24 * 3600
        stored = await valkey.get(session_key(session_id))
    # Nothing in Valkey is the cookie: not a key, not a value.
    assert session_id.encode() not in b" ".join(await frontend_keys(backing))
    assert session_id.encode() not in stored
    assert shop.cookies["csrf"].encode() not in stored


async def test_no_key_stored_in_valkey_works_as_a_cookie(
    shop: httpx.AsyncClient, app, backing, audit
):
    """What a dump or an admin's listing of Valkey shows: every frontend key, each of its
    parts tried as the session cookie. None is the shopper's session."""
    await choose_currency(shop, audit, "EUR")
    assert 'value="EUR" selected' in (await shop.get("/")).text
    stolen = {part for key in await frontend_keys(backing) for part in key.decode().split(":")}

    transport = httpx.ASGITransport(app=app)
    for value in stolen:
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as thief:
            thief.cookies.set("session", value)
            page = (await thief.get("/")).text
        assert 'value="EUR" selected' not in page, value


async def test_looking_around_without_cookies_stores_nothing(app, backing):
    before = await frontend_keys(backing)
    transport = httpx.ASGITransport(app=app)
    for path in LOOKING * 3:
        # A fresh client per request: a crawler that keeps no cookies.
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as bot:
            response = await bot.get(path)
            assert response.status_code in {200, 303, 404}, path
            assert "session" not in bot.cookies, path

    assert await frontend_keys(backing) == before


async def test_a_visitor_who_only_looks_keeps_one_csrf_cookie_and_no_session(
    shop: httpx.AsyncClient, backing, audit
):
    before = await frontend_keys(backing)
    first = await shop.get("/")
    csrf = shop.cookies["csrf"]
    tokens = set()
    for path in LOOKING:
        response = await shop.get(path)
        assert "csrf=" not in response.headers.get("set-cookie", ""), path  # set once
        if response.status_code == 200 and "csrf_token" in response.text:
            tokens.add(csrf_of(audit, response.text))

    assert tokens == {csrf_of(audit, first.text)}  # one token, from the one cookie
    assert shop.cookies["csrf"] == csrf
    assert "session" not in shop.cookies
    assert await frontend_keys(backing) == before


async def test_an_anonymous_form_posts_with_its_cookie_bound_token(
    shop: httpx.AsyncClient, backing, audit
):
    """The first post works with nothing stored before it; its change is what is stored."""
    before = await frontend_keys(backing)
    token = csrf_of(audit, (await shop.get("/product/ceramic-pour-over")).text)
    assert await frontend_keys(backing) == before

    answer = await shop.post(
        "/cart/items",
        data={"csrf_token": token, "product_id": "ceramic-pour-over", "quantity": "1"},
    )

    assert answer.status_code == 303
    added = [k for k in await frontend_keys(backing) if k not in before]
    assert added == [session_key(shop.cookies["session"]).encode()]
    # The token stays the same once a session exists: forms in other tabs still post.
    assert csrf_of(audit, (await shop.get("/cart")).text) == token


@pytest.mark.parametrize("planted", ["", "short", "x" * 42 + "!", "a" * 200])
async def test_a_malformed_csrf_cookie_is_replaced_not_signed(
    shop: httpx.AsyncClient, planted: str
):
    shop.cookies.set("csrf", planted)

    response = await shop.get("/")

    value, _ = cookie_named(response, "csrf")
    assert value != planted
    assert len(value) == 43


async def test_an_unknown_session_id_is_not_adopted(shop: httpx.AsyncClient):
    planted = "planted-by-someone-else-" + "x" * 20
    shop.cookies.set("session", planted)

    response = await shop.get("/")

    assert planted not in response.headers["set-cookie"]


async def test_static_files_and_pictures_set_no_cookie(shop: httpx.AsyncClient):
    response = await shop.get("/pictures/ceramic-pour-over.svg")

    assert "set-cookie" not in response.headers


async def test_a_form_without_the_csrf_token_is_refused(shop: httpx.AsyncClient, audit):
    await shop.get("/")

    response = await shop.post("/currency", data={"currency": "EUR", "next": "/"})

    assert response.status_code == 403
    assert audit(response.text).heading == "That form couldn't be accepted"


async def test_a_form_with_a_wrong_csrf_token_is_refused(shop: httpx.AsyncClient, audit):
    token = csrf_of(audit, (await shop.get("/")).text)

    response = await shop.post(
        "/currency", data={"csrf_token": token[:-2] + "xx", "currency": "EUR", "next": "/"}
    )

    assert response.status_code == 403
    assert "EUR" not in (await shop.get("/")).text.split("selected>")[0][-6:]


async def test_another_sessions_token_is_refused(shop: httpx.AsyncClient, app, audit):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as other:
        their_token = csrf_of(audit, (await other.get("/")).text)
    await shop.get("/")

    response = await shop.post("/currency", data={"csrf_token": their_token, "currency": "EUR"})

    assert response.status_code == 403


async def test_security_headers_on_every_response(shop: httpx.AsyncClient):
    for path in ["/", "/nowhere", "/pictures/ceramic-pour-over.svg"]:
        response = await shop.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy or "sandbox" in policy  # pictures: sandboxed
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
    page_policy = (await shop.get("/")).headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page_policy
    assert "script-src 'self';" in page_policy  # our own files only: no inline, no eval


async def test_a_request_racing_a_sign_out_does_not_bring_the_session_back(redis_url: str):
    cache = Cache(redis_url, prefix="frontend")
    await cache.open()
    try:
        store = SessionStore(cache, idle_seconds=60)
        session = await store.load(None)
        session["user"] = {"id": "u1", "name": "Ada"}
        await store.save(session)
        racing = await store.load(session.id)  # loaded before the sign-out below
        signed_out = await store.load(session.id)
        signed_out.clear()
        await store.save(signed_out)

        racing.flash("late")
        await store.save(racing)

        assert not await cache.client.exists(session_key(session.id))
    finally:
        await cache.close()


async def test_each_visit_slides_the_expiry_forward(shop: httpx.AsyncClient, redis_url: str, audit):
    await choose_currency(shop, audit)
    key = session_key(shop.cookies["session"])
    async with Redis.from_url(redis_url) as valkey:
        await valkey.expire(key, 60)

        response = await shop.get("/search?q=")

        assert await valkey.ttl(key) > 7 * 24 * 3600 - 60
    _, attributes = cookie_named(response, "session")
    assert f"Max-Age={7 * 24 * 3600}" in attributes


async def test_a_refused_form_without_a_session_is_told_once_and_stores_nothing(
    shop: httpx.AsyncClient, backing, audit
):
    """The message rides in a sealed cookie to the next page, which takes it."""
    before = await frontend_keys(backing)
    token = csrf_of(audit, (await shop.get("/")).text)

    refused = await shop.post("/currency", data={"csrf_token": token, "currency": "XXX"})

    assert refused.status_code == 303
    assert "session" not in shop.cookies
    told = audit((await shop.get("/")).text).plain_text
    assert "That currency isn't one we can show prices in." in told
    again = audit((await shop.get("/")).text).plain_text
    assert "That currency isn't one we can show prices in." not in again  # shown once
    assert await frontend_keys(backing) == before


async def test_a_forged_flash_cookie_shows_nothing(shop: httpx.AsyncClient, audit):
    shop.cookies.set("flash", "W1siZXJyb3IiLCJDYWxsIDA4MDAgbm93Il1d.c2lnbmF0dXJl")

    page = audit((await shop.get("/")).text).plain_text

    assert "Call 0800 now" not in page
