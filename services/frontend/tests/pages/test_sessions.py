"""Sessions live in a real Valkey; the browser holds only an opaque id. Forms need CSRF."""

import httpx
from chassis import Cache
from frontend.sessions import SessionStore
from redis.asyncio import Redis


def csrf_of(audit, html: str) -> str:
    fields = [f for f in audit(html).all("input") if f.get("name") == "csrf_token"]
    assert fields, "the page has no form with a CSRF token"
    return str(fields[0]["value"])


async def test_first_visit_gets_an_opaque_http_only_lax_cookie(shop: httpx.AsyncClient):
    response = await shop.get("/")

    cookie = response.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    value = rest.split(";")[0]
    assert name == "session"
    assert len(value) >= 43  # 32 random bytes, base64url
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= set(attributes)
    assert "Secure" not in attributes  # plain http: a Secure cookie would never come back


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(shop: httpx.AsyncClient):
    response = await shop.get("/", headers={"X-Forwarded-Proto": "https"})

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session=")  # no TRUSTED_PROXIES: the peer's claim is not believed
    assert "; Secure" not in cookie


async def test_session_data_is_in_valkey_under_frontend_keys(
    shop: httpx.AsyncClient, redis_url: str
):
    await shop.get("/")
    session_id = shop.cookies["session"]

    async with Redis.from_url(redis_url) as valkey:
        assert await valkey.exists(f"frontend:session:{session_id}")
        assert 0 < await valkey.ttl(f"frontend:session:{session_id}") <= 7 * 24 * 3600


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

        assert not await cache.client.exists(cache.key("session", session.id))
    finally:
        await cache.close()


async def test_each_visit_slides_the_expiry_forward(shop: httpx.AsyncClient, redis_url: str):
    await shop.get("/")
    key = f"frontend:session:{shop.cookies['session']}"
    async with Redis.from_url(redis_url) as valkey:
        await valkey.expire(key, 60)

        response = await shop.get("/search?q=")

        assert await valkey.ttl(key) > 7 * 24 * 3600 - 60
    assert f"Max-Age={7 * 24 * 3600}" in response.headers["set-cookie"]
