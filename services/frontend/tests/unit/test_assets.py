from pathlib import Path

from frontend.web.assets import HashedStaticFiles


def test_urls_carry_a_content_hash(tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "shop.css").write_text("body { color: red }")
    before = HashedStaticFiles(tmp_path).url_path("css/shop.css")

    (tmp_path / "css" / "shop.css").write_text("body { color: blue }")
    after = HashedStaticFiles(tmp_path).url_path("css/shop.css")

    assert before.startswith("/static/css/shop.") and before.endswith(".css")
    assert before != after
