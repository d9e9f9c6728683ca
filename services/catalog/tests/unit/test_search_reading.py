"""How a shopper's search is read: the words, the partial words, the literal text."""

from __future__ import annotations

import pytest
from catalog.domain import (
    MAX_PREFIX_WORDS,
    MAX_QUERY_LENGTH,
    InvalidSearch,
    escape_like,
    prefix_query,
    read_search,
)


def test_spaces_and_control_characters_are_tidied() -> None:
    query = read_search("  cast \t iron\x00 skillet \n")
    assert query.text == "cast iron skillet"
    assert query.cache_key == read_search("Cast Iron Skillet").cache_key


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", "\n"])
def test_an_empty_search_is_refused(raw: str) -> None:
    with pytest.raises(InvalidSearch, match="empty"):
        read_search(raw)


def test_a_long_search_is_refused() -> None:
    read_search("a" * MAX_QUERY_LENGTH)
    with pytest.raises(InvalidSearch, match="longer"):
        read_search("a" * (MAX_QUERY_LENGTH + 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kett", "'kett':*"),
        ("Gooseneck KETT", "'gooseneck':* & 'kett':*"),
        ("pour-o", "'pour':* & 'o'"),
        ('"cast iron" pan', "'cast' & 'iron' & 'pan':*"),
        ("mug -camping", "'mug':* & !'camping'"),
        ("-camping mug", "'mug':* & !'camping'"),
        ("tea or coffee", "'tea':* & 'coffee':*"),
        ("-camping", ""),
        ("'; drop table products; --", "'drop':* & 'table':* & 'products':*"),
        ("&|!:*()<>", ""),
        ("mug:*", "'mug':*"),
        ("☕️ 🫖", ""),
        ("crème brûlée", "'crème':* & 'brûlée':*"),
        ("snake_case", "'snake':* & 'case':*"),
    ],
)
def test_prefix_query(text: str, expected: str) -> None:
    assert prefix_query(text) == expected


def test_prefix_words_are_capped() -> None:
    words = " ".join(f"word{n}" for n in range(MAX_PREFIX_WORDS + 5))
    assert prefix_query(words).count(":*") == MAX_PREFIX_WORDS


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("mug", "mug"), ("50%", "50\\%"), ("a_b", "a\\_b"), ("back\\slash", "back\\\\slash")],
)
def test_like_wildcards_are_literal(text: str, pattern: str) -> None:
    assert escape_like(text) == pattern
    assert read_search(text).pattern == f"%{pattern}%"
