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
    "REDIS_URL": "redis://127.0.0.1:6379/0",
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
