"""Where a form may send the shopper back to: a path on this site, never another site."""

import pytest
from frontend.web.forms import local_path


@pytest.mark.parametrize(
    "value",
    ["/", "/cart", "/product/chef-knife?x=1#top", "/search?q=a%20b", "/category/tea?page=2"],
)
def test_a_local_path_is_kept(value: str) -> None:
    assert local_path(value, "/account") == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/",
        "http:/evil.example",
        "//evil.example/",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/cart\\..\\",
        "javascript:alert(1)",
        "evil.example/path",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\x7f/x",
        "/\x85/x",
        "/" + "a" * 600,
    ],
)
def test_anything_else_is_the_default(value: str | None) -> None:
    assert local_path(value, "/account") == "/account"
