"""Search as a shopper types it: whole words, partial words, phrases and nonsense."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


async def ids(client: httpx.AsyncClient, q: str, **params: object) -> list[str]:
    response = await client.get("/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


async def test_best_match_comes_first(client: httpx.AsyncClient) -> None:
    assert (await ids(client, "kettle"))[0] == "gooseneck-kettle"
    assert (await ids(client, "fountain pen"))[0] == "fountain-pen"
    # Both mugs are named mugs; things that merely mention a mug come after them.
    assert set((await ids(client, "mug"))[:2]) == {"stoneware-mug", "enamel-camp-mug"}


async def test_a_word_in_the_name_outranks_one_in_the_description(
    client: httpx.AsyncClient,
) -> None:
    found = await ids(client, "wool")
    assert set(found[:2]) == {"wool-throw", "wool-socks"}
    assert "merino-beanie" in found  # "fine merino wool", in its description


async def test_plurals_and_case_do_not_matter(client: httpx.AsyncClient) -> None:
    assert (await ids(client, "Kettles"))[0] == "gooseneck-kettle"
    assert set((await ids(client, "MUGS"))[:2]) == {"stoneware-mug", "enamel-camp-mug"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("kett", "gooseneck-kettle"),
        ("headph", "over-ear-headphones"),
        ("noteb", "dot-grid-notebook"),
        ("terraco", "terracotta-planter"),
        ("pour-o", "ceramic-pour-over"),
    ],
)
async def test_partial_words_find_what_is_being_typed(
    client: httpx.AsyncClient, typed: str, expected: str
) -> None:
    assert expected in (await ids(client, typed))[:3]


async def test_websearch_syntax(client: httpx.AsyncClient) -> None:
    assert await ids(client, '"cast iron"') == ["cast-iron-skillet"]
    without = await ids(client, "mug -camping")
    assert "stoneware-mug" in without
    assert "enamel-camp-mug" not in without


async def test_no_result_is_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/search", params={"q": "zzyzx quux"})
    assert response.json() == {"items": [], "page": 1, "page_size": 24, "total": 0}


@pytest.mark.parametrize(
    "q",
    [
        "%",
        "_",
        "%%__",
        "\\",
        "'",
        "''; DROP TABLE products; --",
        "& | ! : * ( )",
        "mug:*",
        "<script>alert(1)</script>",
        "☕️ 🫖",
        "a" * 200,
    ],
)
async def test_odd_characters_never_fail(client: httpx.AsyncClient, q: str) -> None:
    response = await client.get("/v1/search", params={"q": q})
    assert response.status_code in (200, 422), response.text
    if q in ("%", "_", "%%__", "\\"):
        # Taken literally, not as LIKE wildcards: nothing is named like that.
        assert response.json()["total"] == 0


async def test_control_characters_alone_are_an_empty_search(
    client: httpx.AsyncClient, problem: Any
) -> None:
    problem(await client.get("/v1/search", params={"q": "\x00\x07"}), 422, "invalid-request")
    assert (await client.get("/v1/search", params={"q": "kettle\x00"})).json()["total"] >= 1


async def test_search_pages(client: httpx.AsyncClient) -> None:
    everything = await ids(client, "wood", page_size=100)
    assert len(everything) >= 3
    paged = [
        *await ids(client, "wood", page_size=2),
        *await ids(client, "wood", page_size=2, page=2),
    ]
    assert paged == everything[:4]
    past = await client.get("/v1/search", params={"q": "wood", "page": 50})
    assert past.json()["items"] == []
    assert past.json()["total"] == len(everything)


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "   "}, {"q": "a" * 201}, {"q": "mug", "page_size": 0}],
)
async def test_a_bad_search_is_a_422_problem(
    client: httpx.AsyncClient, problem: Any, params: dict[str, object]
) -> None:
    problem(await client.get("/v1/search", params=params), 422, "invalid-request")
