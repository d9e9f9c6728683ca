"""The confirmation e-mail as a shopper reads it: subject, both parts, escaping, figures."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from unittest.mock import patch

from notifications import emails
from notifications.emails import build_message, message_id, render_order_confirmed
from notifications.order_events import OrderConfirmedV1

SHOP = "https://shop.example"
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def order(data: dict[str, Any]) -> OrderConfirmedV1:
    return OrderConfirmedV1.model_validate(data)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML parts after a round trip through bytes, as a mail client sees it."""
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in parsed.iter_parts()]
    assert kinds == ["text/plain", "text/html"]  # the last part is the preferred one
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def mail(data: dict[str, Any], event_id: uuid.UUID | None = None) -> EmailMessage:
    confirmed = order(data)
    return build_message(
        render_order_confirmed(confirmed, shop_url=SHOP),
        sender="Mosaic <orders@mosaic.example>",
        recipient=confirmed.email,
        event_id=event_id or uuid.uuid4(),
        date=NOW,
    )


def test_subject_headers_and_both_parts(order_data: Any) -> None:
    data = order_data(order_id="3f2a9c1b-0000-4000-8000-000000000001")
    event_id = uuid.uuid4()
    message = mail(data, event_id)
    assert message["Subject"] == "Your Mosaic order 3F2A9C1B is confirmed"
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Mosaic <orders@mosaic.example>"
    assert message["Message-ID"] == f"<{event_id}@mail.mosaic.example>"
    assert message["Date"] == "Sat, 28 Nov 2026 08:00:00 +0000"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = parts(message)
    for body in (text, html):
        assert "3F2A9C1B" in body
        assert "28 November 2026" in body
        assert "Brass compass" in body and "Wool socks" in body
        assert "€24.50" in body and "€49.00" in body  # unit price and line total
        assert "€61.00" in body and "€4.99" in body and "€65.99" in body
        assert "MOS7Q2K9XW4HB3D" in body
        assert "https://shop.example/orders/status/Xy-Token_123" in body
    assert re.search(r"2 x Brass compass \(€24\.50 each\)\s+€49\.00", text)
    assert re.search(r"Total:\s+€65\.99", text)


def test_the_message_id_is_the_event_s() -> None:
    event_id = uuid.UUID("0b8f6f9e-3c55-4c9e-a1d5-6c0c2f1e9a77")
    assert message_id(event_id) == "<0b8f6f9e-3c55-4c9e-a1d5-6c0c2f1e9a77@mail.mosaic.example>"
    assert message_id(event_id) == message_id(uuid.UUID(str(event_id)))


def test_yen_has_no_decimals(order_data: Any) -> None:
    data = order_data(
        currency="JPY",
        lines=[
            {
                "product_id": "ceramic-pour-over",
                "name": "Ceramic pour-over",
                "quantity": 3,
                "unit_price": {"amount": 3600, "currency": "JPY"},
                "line_total": {"amount": 10800, "currency": "JPY"},
            }
        ],
        subtotal={"amount": 10800, "currency": "JPY"},
        shipping={"amount": 750, "currency": "JPY"},
        total={"amount": 11550, "currency": "JPY"},
    )
    text, html = parts(mail(data))
    for body in (text, html):
        assert "¥3,600" in body and "¥10,800" in body and "¥750" in body and "¥11,550" in body
        assert "¥11,550.00" not in body and "¥115.50" not in body


def test_values_from_the_event_are_escaped_in_html_and_plain_in_text(order_data: Any) -> None:
    data = order_data()
    data["lines"][0]["name"] = '<script>alert("x")</script> Tom & Jerry\'s <b>mug</b>'
    data["tracking_id"] = "<img src=x onerror=alert(1)>"
    text, html = parts(mail(data))
    assert "<script>" not in html and "<b>mug</b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Tom &amp; Jerry&#39;s" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<script>alert("x")</script> Tom & Jerry\'s <b>mug</b>' in text


def test_the_html_loads_nothing_from_elsewhere(order_data: Any) -> None:
    _, html = parts(mail(order_data()))
    assert html.lstrip().startswith("<!DOCTYPE html>")
    for tag in ("<img", "<script", "<link", "<style", "<iframe", "<object", "url("):
        assert tag not in html.lower(), tag
    assert " src=" not in html
    # Every link goes to the shop, and the layout is tables with inline styles.
    assert set(re.findall(r'href="([^"]+)"', html)) == {
        SHOP,
        f"{SHOP}/orders/status/Xy-Token_123",
    }
    assert 'role="presentation"' in html and 'style="' in html


def test_the_delivery_address_is_shown_when_orders_sends_it(order_data: Any) -> None:
    text, html = parts(mail(order_data()))
    assert "Delivering to:\nAda Lovelace\nUnter den Linden 1\n10117 Berlin\nDE\n" in text
    assert "Ada Lovelace<br>Unter den Linden 1<br>10117 Berlin<br>DE" in html
    data = order_data()
    data["address"]["name"] = "<b>Ada</b>"
    _, html = parts(mail(data))
    assert "&lt;b&gt;Ada&lt;/b&gt;" in html
    data = order_data()
    del data["address"]
    text, html = parts(mail(data))
    assert "Delivering to" not in text + html


def test_the_mail_greets_a_signed_in_shopper_by_the_given_name(order_data: Any) -> None:
    text, html = parts(mail(order_data(given_name="Ada")))
    assert text.startswith("Hello Ada,\n\nThank you for your order!")
    assert "Hello Ada, thank you for your order!</h1>" in html
    _, html = parts(mail(order_data(given_name="<b>Ada</b>")))
    assert "Hello &lt;b&gt;Ada&lt;/b&gt;," in html


def test_a_guest_or_an_order_from_before_is_thanked_as_before(order_data: Any) -> None:
    for data in (order_data(), order_data(given_name=None), order_data(given_name="")):
        text, html = parts(mail(data))
        assert text.startswith("Thank you for your order!")
        assert "Hello" not in text + html
        assert ">Thank you for your order!</h1>" in html


def test_the_shipping_option_is_named(order_data: Any) -> None:
    text, html = parts(mail(order_data(shipping_option="express")))
    assert "Shipping (Express): €4.99" in text
    assert "(Express)" in html


def test_without_a_guest_link_the_mail_sends_the_shopper_to_sign_in(order_data: Any) -> None:
    text, html = parts(mail(order_data(status_url=None)))
    assert f"Sign in at {SHOP}/account/orders to see your order" in text
    assert f'href="{SHOP}/account/orders"' in html
    assert "Sign in to see your order" in html
    assert "/orders/status/" not in text + html


def test_one_item_and_many(order_data: Any) -> None:
    data = order_data()
    data["lines"] = data["lines"][1:]
    _, html = parts(mail(data))
    assert "1 item," in html
    _, html = parts(mail(order_data()))
    assert "3 items," in html


def test_the_message_is_built_as_the_standard_policy_builds_it(order_data: Any) -> None:
    """The header classes are made once (emails._HeaderClasses), not per header: the bytes
    on the wire are exactly the standard policy's (the multipart boundary aside)."""
    data, event_id = order_data(), uuid.uuid4()
    fast = mail(data, event_id).as_bytes()
    with patch.object(emails, "_POLICY", policy.default):
        standard = mail(data, event_id).as_bytes()
    boundary = re.compile(rb"=+\d+==")
    assert boundary.sub(b"-", fast) == boundary.sub(b"-", standard)
    assert b"To: ada@example.com" in fast
