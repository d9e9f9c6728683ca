"""The dev mailbox: the SMTP sink stores what it receives as .eml files, the page lists
and shows them (HTML only sandboxed, under a strict CSP), /messages.json for tests."""

from __future__ import annotations

import asyncio
import json
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from mosaic.mailbox import Mailbox, server_port, start_smtp_sink
from mosaic.mailpage import start_mail_page


def send(port: int, subject: str, html: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "Mosaic <shop@mosaic.test>"
    message["To"] = "ada@example.com"
    message["Subject"] = subject
    message["Message-ID"] = "<evt-1@mosaic.test>"
    message.set_content("Thanks for your order.\nTotal: 45.99 EUR")
    if html is not None:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


@pytest.fixture
async def mailbox(tmp_path: Path) -> AsyncIterator[tuple[Mailbox, int, str]]:
    box = Mailbox(tmp_path / "mailbox")
    received: list[str] = []
    sink = await start_smtp_sink(box, 0, lambda mail_id, *_: received.append(mail_id))
    runner, port = await start_mail_page(box, 0)
    yield box, server_port(sink), f"http://127.0.0.1:{port}"
    sink.close()
    await sink.wait_closed()
    await runner.cleanup()


async def get(url: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, dict(response.headers), await response.text()


async def test_mail_is_stored_listed_and_shown_safely(
    mailbox: tuple[Mailbox, int, str], tmp_path: Path
) -> None:
    box, smtp_port, page = mailbox
    hostile = '<p onclick="x()">Order <b>confirmed</b></p><script>alert(1)</script>'
    await asyncio.to_thread(send, smtp_port, "Your order <#1>", hostile)
    await asyncio.to_thread(send, smtp_port, "Second")
    files = sorted((tmp_path / "mailbox").glob("*.eml"))
    assert len(files) == 2
    assert b"Subject: Your order <#1>" in files[0].read_bytes()

    status, headers, body = await get(f"{page}/messages.json")
    assert status == 200
    messages = json.loads(body)["messages"]
    assert [m["subject"] for m in messages] == ["Second", "Your order <#1>"]  # newest first
    first = messages[1]
    assert first["to"] == ["ada@example.com"]
    assert first["from"] == "Mosaic <shop@mosaic.test>"
    assert first["message_id"] == "<evt-1@mosaic.test>"
    assert "Total: 45.99 EUR" in first["text"]
    assert "<script>" in first["html"]
    assert messages[0]["html"] is None

    status, headers, body = await get(page + "/")
    assert status == 200
    assert "Your order &lt;#1&gt;" in body and "<#1>" not in body
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]

    status, headers, body = await get(f"{page}/messages/{first['id']}")
    assert status == 200
    assert f'<iframe sandbox src="/messages/{first["id"]}/html">' in body
    assert "Total: 45.99 EUR" in body
    assert "<script>" not in body  # the HTML part only ever inside the sandboxed frame

    status, headers, body = await get(f"{page}/messages/{first['id']}/html")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp.split("; ")
    assert headers["X-Content-Type-Options"] == "nosniff"

    assert (await get(f"{page}/messages/{messages[0]['id']}/html"))[0] == 404
    for bad in ("nope", "..%2F..%2Fsecrets", "0000000000000000000-zzzzzzzz"):
        assert (await get(f"{page}/messages/{bad}"))[0] == 404
    assert (await get(f"{page}/messages/{first['id']}/raw"))[2].startswith("From: ")

    again = Mailbox(tmp_path / "mailbox")  # a later run reads the same folder
    assert again.ids() == box.ids()


async def test_an_empty_mailbox_says_so(mailbox: tuple[Mailbox, int, str]) -> None:
    _, _, page = mailbox
    status, _, body = await get(page + "/")
    assert status == 200
    assert "No mail yet." in body
    assert (await get(f"{page}/messages.json"))[2].strip().startswith('{\n  "messages": []')
