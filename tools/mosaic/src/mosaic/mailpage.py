"""The dev mailbox page, served by the runner: the received mail newest first, each
message's text part and its HTML part (in a sandboxed iframe under a strict CSP, since
mail HTML is untrusted), the raw .eml, and /messages.json for tests and scripts."""

import json
from html import escape

from aiohttp import web

from mosaic.mailbox import Mail, Mailbox

# The page itself: no scripts, nothing from elsewhere; it frames only its own HTML parts.
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; base-uri 'none'"
# A mail's HTML: no scripts, no requests (remote images would leak that it was opened),
# and a unique origin (sandbox) even when opened outside the iframe.
_MAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox"
)
_STYLE = """body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.4rem .6rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}tr:hover{background:#f6f6f6}a{color:#0a58ca}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}iframe{width:100%;height:40rem;
border:1px solid #ddd}.muted{color:#777}"""


def create_mail_app(mailbox: Mailbox) -> web.Application:
    async def index(_: web.Request) -> web.Response:
        rows = []
        for mail_id in mailbox.ids():
            mail = mailbox.get(mail_id)
            if mail is None:
                continue
            s = mail.summary
            rows.append(
                f"<tr><td>{escape(s['received_at'])}</td><td>{escape(s['from'])}</td>"
                f"<td>{escape(', '.join(s['to']))}</td>"
                f'<td><a href="/messages/{mail_id}">{escape(s["subject"] or "(no subject)")}'
                "</a></td></tr>"
            )
        table = (
            "<table><tr><th>Received (UTC)</th><th>From</th><th>To</th><th>Subject</th></tr>"
            + "".join(rows)
            + "</table>"
            if rows
            else '<p class="muted">No mail yet.</p>'
        )
        return _page("Dev mailbox", f"<h1>Dev mailbox</h1>{table}")

    async def message(request: web.Request) -> web.Response:
        mail = _mail(mailbox, request)
        s = mail.summary
        text, html = mail.part("plain"), mail.part("html")
        body = [
            '<p><a href="/">&larr; all mail</a></p>',
            f"<h1>{escape(s['subject'] or '(no subject)')}</h1>",
            f"<p>From: {escape(s['from'])}<br>To: {escape(', '.join(s['to']))}<br>"
            f"Date: {escape(s['date'] or '-')}<br>"
            f'<a href="/messages/{mail.id}/raw">raw message</a></p>',
        ]
        if html is not None:
            body.append(f'<h2>HTML</h2><iframe sandbox src="/messages/{mail.id}/html"></iframe>')
        if text is not None:
            body.append(f"<h2>Text</h2><pre>{escape(text)}</pre>")
        return _page(s["subject"] or "mail", "".join(body))

    async def html_part(request: web.Request) -> web.Response:
        html = _mail(mailbox, request).part("html")
        if html is None:
            raise web.HTTPNotFound(text="this message has no HTML part")
        return web.Response(
            text=html,
            content_type="text/html",
            headers={"Content-Security-Policy": _MAIL_CSP, **_COMMON},
        )

    async def raw(request: web.Request) -> web.Response:
        data = mailbox.raw(request.match_info["id"])
        if data is None:
            raise web.HTTPNotFound(text="no such message")
        return web.Response(body=data, content_type="text/plain", headers=_COMMON)

    async def messages_json(_: web.Request) -> web.Response:
        listing = []
        for mail_id in mailbox.ids():
            mail = mailbox.get(mail_id)
            if mail is not None:
                listing.append(
                    {**mail.summary, "text": mail.part("plain"), "html": mail.part("html")}
                )
        return web.Response(
            text=json.dumps({"messages": listing}, indent=2),
            content_type="application/json",
            headers=_COMMON,
        )

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/messages.json", messages_json)
    app.router.add_get("/messages/{id}", message)
    app.router.add_get("/messages/{id}/html", html_part)
    app.router.add_get("/messages/{id}/raw", raw)
    return app


_COMMON = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _mail(mailbox: Mailbox, request: web.Request) -> Mail:
    mail = mailbox.get(request.match_info["id"])
    if mail is None:
        raise web.HTTPNotFound(text="no such message")
    return mail


def _page(title: str, body: str) -> web.Response:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Content-Security-Policy": _PAGE_CSP, "X-Frame-Options": "DENY", **_COMMON},
    )


async def start_mail_page(
    mailbox: Mailbox, port: int, host: str = "127.0.0.1"
) -> tuple[web.AppRunner, int]:
    """Serve the page on host:port (0: any free port); returns the runner and port."""
    runner = web.AppRunner(create_mail_app(mailbox), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    host_port = runner.addresses[0]
    return runner, int(host_port[1])
