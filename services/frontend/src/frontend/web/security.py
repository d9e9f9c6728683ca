"""Security headers on every response: no inline script or style, scripts only our own.

Pure ASGI (the chassis's `HTTPMiddleware`), so it costs no extra task per request.
"""

from chassis.middleware import HTTPMiddleware
from starlette.types import Message, Receive, Scope, Send

# Scripts only from our own files (the vendored htmx), never inline, never eval; htmx's
# requests back to the shop need connect-src. htmx's own indicator <style> is turned off in
# base.html's htmx-config, so style-src stays 'self' too.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_DEFAULTS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", PAGE_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeadersMiddleware(HTTPMiddleware):
    """Adds each header unless the route set its own (pictures bring a stricter CSP)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in _DEFAULTS if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
