"""Configuration: SMTP_URL's forms, and one line naming each bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from chassis import load_settings
from notifications.settings import NotificationsSettings, SmtpTarget, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("smtp://127.0.0.1:2525", SmtpTarget("127.0.0.1", 2525, use_tls=False, start_tls=False)),
        ("smtp://mail.example", SmtpTarget("mail.example", 25, use_tls=False, start_tls=False)),
        ("smtps://mail.example", SmtpTarget("mail.example", 465, use_tls=True, start_tls=False)),
        (
            "smtp://shop%40example.com:p%2Fss@mail.example:587?starttls=true",
            SmtpTarget("mail.example", 587, False, True, "shop@example.com", "p/ss"),
        ),
        (
            "SMTP://mail.example:587/?starttls=false",
            SmtpTarget("mail.example", 587, use_tls=False, start_tls=False),
        ),
    ],
)
def test_smtp_urls(url: str, target: SmtpTarget) -> None:
    assert parse_smtp_url(url) == target


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example", "expected an smtp:// or smtps:// URL"),
        ("mail.example:25", "expected an smtp:// or smtps:// URL"),
        ("smtp://:25", "names no host"),
        ("smtp://mail.example:99999", "not a URL"),
        ("smtp://mail.example/inbox", "no path"),
        ("smtp://mail.example?tls=yes", "unknown option 'tls'"),
        ("smtp://mail.example?starttls=maybe", "starttls must be true or false"),
        ("smtps://mail.example?starttls=true", "TLS already"),
        ("smtp://user@mail.example", "both a user and a password"),
    ],
)
def test_bad_smtp_urls(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_smtp_url(url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name, value in {
        "MOSAIC_SERVICE": "notifications",
        "PORT": "8000",
        "OPS_PORT": "8001",
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql://n:p@127.0.0.1:5432/notifications",
        "BROKER_URL": "redis://n:p@127.0.0.1:6379/0",
        "SMTP_URL": "smtp://127.0.0.1:2525",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults(env: pytest.MonkeyPatch) -> None:
    settings = load_settings(NotificationsSettings)
    assert settings.shop_url == "http://127.0.0.1:8080"
    assert settings.mail_from == "Mosaic <orders@mosaic.example>"
    assert settings.smtp == SmtpTarget("127.0.0.1", 2525, use_tls=False, start_tls=False)
    assert settings.retry_after_seconds == 30


def test_shop_url_loses_its_trailing_slash(env: pytest.MonkeyPatch) -> None:
    env.setenv("SHOP_URL", "https://shop.example/")
    assert load_settings(NotificationsSettings).shop_url == "https://shop.example"


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("SMTP_URL", None, "SMTP_URL is not set; expected smtp://"),
        ("SMTP_URL", "http://mail", "SMTP_URL is invalid (Value error, expected an smtp://"),
        ("BROKER_URL", None, "BROKER_URL is not set; expected a Redis URL"),
        ("BROKER_URL", "amqp://x", "BROKER_URL is invalid"),
        ("SHOP_URL", "shop.example", "SHOP_URL is invalid (Value error, expected an http://"),
        ("MAIL_FROM", "Mosaic", "MAIL_FROM is invalid"),
        ("MAIL_FROM", "a@b.example\nBcc: x@y.example", "MAIL_FROM is invalid"),
        ("RETRY_AFTER_SECONDS", "0", "RETRY_AFTER_SECONDS is invalid"),
        ("CONSUMER_NAME", "two words", "CONSUMER_NAME is invalid"),
    ],
)
def test_one_line_config_errors(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str | None,
    line: str,
) -> None:
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings(NotificationsSettings)
    assert stopped.value.code == 78
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("configuration error: ")
    assert line in err
