"""The shipped drawings: one per seeded product, clean, small and self-contained."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from types import ModuleType

import pytest
from catalog.pictures import PLACEHOLDER, Picture, picture, pictures

SERVICE_DIR = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def seed_migration() -> ModuleType:
    path = next((SERVICE_DIR / "migrations" / "versions").glob("0002_*.py"))
    spec = importlib.util.spec_from_file_location("seed_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEEDED = [row[0] for row in seed_migration().PRODUCTS]


def test_every_seeded_product_has_a_picture_and_no_picture_is_orphaned() -> None:
    assert set(pictures()) == {*SEEDED, PLACEHOLDER}


def test_the_seed_is_a_small_shop() -> None:
    module = seed_migration()
    categories = {row[1] for row in module.PRODUCTS}
    assert len(SEEDED) == len(set(SEEDED)) >= 30
    assert categories == {row[0] for row in module.CATEGORIES}
    assert len(categories) >= 5
    for _, _, name, price, tags, description in module.PRODUCTS:
        assert name and tags and 0 < price < 1_000_00
        assert 1 <= description.count(". ") + 1 <= 3, description


@pytest.mark.parametrize("name", sorted(pictures()))
def test_a_picture_is_a_clean_self_contained_svg(name: str) -> None:
    found = picture(name)
    assert found is not None
    assert 500 <= len(found.svg) <= 3 * 1024
    # Our own files, not untrusted input: the stdlib parser is fine here.
    root = ElementTree.fromstring(found.svg)  # noqa: S314
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 400 400"
    assert root.get("aria-label")  # read out in place of the picture
    background = root.find(f"{SVG}rect")
    assert background is not None and background.get("width") == "400"
    text = found.svg.decode()
    assert "<script" not in text and "<foreignObject" not in text
    assert not re.search(r"\bon[a-z]+=", text), "no event handlers"
    assert not re.search(r"""href=["'](?!#)""", text), "only references inside the file"
    assert "url(" not in text.replace("url(#", ""), "only references inside the file"
    ids = re.findall(r'id="([^"]+)"', text)
    assert all(id_.startswith(f"{name}-") for id_ in ids), "ids unique if pictures are inlined"


def test_etags_follow_content() -> None:
    assert len({p.etag for p in pictures().values()}) == len(pictures())
    drawn = Picture(b"<svg/>", '"abc"')
    assert drawn.matches('"abc"')
    assert drawn.matches('W/"abc"')
    assert drawn.matches('"x", "abc"')
    assert drawn.matches("*")
    assert not drawn.matches('"abcd"')
    assert not drawn.matches(None)
    assert not drawn.matches("")
