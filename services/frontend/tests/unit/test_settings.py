import pytest
from chassis import load_settings
from frontend.settings import FrontendSettings

BASE = {
    "MOSAIC_SERVICE": "frontend",
    "PORT": "8080",
    "OPS_PORT": "9080",
    "TRANSPORT_SECURITY": "mesh",
    "CURRENCY_URL": "http://127.0.0.1:8002",
    "ACCOUNTS_URL": "http://127.0.0.1:8003",
    "CART_URL": "http://127.0.0.1:8004",
    "RECOMMENDATIONS_URL": "http://127.0.0.1:8005",
    "ORDERS_URL": "http://127.0.0.1:8006",
    "SHIPPING_URL": "http://127.0.0.1:8007",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CSRF_SECRET": "k" * 32,
}


def test_catalog_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**BASE, "CATALOG_URL": "http://127.0.0.1:8001"}.items():
        monkeypatch.setenv(name, value)

    assert str(load_settings(FrontendSettings).catalog_url).startswith("http://127.0.0.1:8001")


@pytest.mark.parametrize("catalog_url", [None, "not a url", "ftp://catalog"])
def test_missing_or_bad_catalog_url_stops_the_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], catalog_url: str | None
) -> None:
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CATALOG_URL", raising=False)
    if catalog_url is not None:
        monkeypatch.setenv("CATALOG_URL", catalog_url)

    with pytest.raises(SystemExit) as stopped:
        load_settings(FrontendSettings)

    assert stopped.value.code == 78
    assert "CATALOG_URL" in capsys.readouterr().err


def _environment(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for name, value in {**BASE, "CATALOG_URL": "http://127.0.0.1:8001", **extra}.items():
        monkeypatch.setenv(name, value)


def test_no_proxy_is_trusted_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch)

    assert load_settings(FrontendSettings).proxy_networks == ()


def test_trusted_proxies_are_comma_separated_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, TRUSTED_PROXIES=" 10.0.0.0/8, fd00::/8 ,127.0.0.1")

    networks = load_settings(FrontendSettings).proxy_networks

    assert [str(n) for n in networks] == ["10.0.0.0/8", "fd00::/8", "127.0.0.1/32"]


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.0.0.1/8", "ingress", "10.0.0.0/8;1.2.3.4"])
def test_a_bad_trusted_proxy_stops_the_process_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _environment(monkeypatch, TRUSTED_PROXIES=value)

    with pytest.raises(SystemExit) as stopped:
        load_settings(FrontendSettings)

    assert stopped.value.code == 78
    error = capsys.readouterr().err
    assert error.startswith("configuration error: TRUSTED_PROXIES is invalid")
    assert error.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "9000", "soon"])
def test_a_bad_recommendations_timeout_stops_the_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _environment(monkeypatch, RECOMMENDATIONS_TIMEOUT_MS=value)

    with pytest.raises(SystemExit):
        load_settings(FrontendSettings)

    assert "RECOMMENDATIONS_TIMEOUT_MS" in capsys.readouterr().err


def test_shipping_url_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch)
    monkeypatch.delenv("SHIPPING_URL")

    with pytest.raises(SystemExit) as stopped:
        load_settings(FrontendSettings)

    assert stopped.value.code == 78
    assert "SHIPPING_URL" in capsys.readouterr().err


def test_orders_url_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch)
    monkeypatch.delenv("ORDERS_URL")

    with pytest.raises(SystemExit) as stopped:
        load_settings(FrontendSettings)

    assert stopped.value.code == 78
    assert "ORDERS_URL" in capsys.readouterr().err


def test_the_checkout_waits_longer_than_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch)

    assert load_settings(FrontendSettings).checkout_timeout_ms == 25_000


@pytest.mark.parametrize("secret", [None, "", "too-short-to-sign-with"])
def test_a_missing_or_short_csrf_secret_stops_the_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secret: str | None
) -> None:
    for name, value in {**BASE, "CATALOG_URL": "http://127.0.0.1:8001"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CSRF_SECRET")
    if secret is not None:
        monkeypatch.setenv("CSRF_SECRET", secret)

    with pytest.raises(SystemExit) as stopped:
        load_settings(FrontendSettings)

    assert stopped.value.code == 78
    said = capsys.readouterr().err
    assert "CSRF_SECRET" in said
    assert "too-short" not in said  # a secret, even a bad one, is never printed
