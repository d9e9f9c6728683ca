"""Request limits as a caller meets them (chassis.limits): a body too large (by its
Content-Length or as it streams in), of another type, or nested too deep is refused with
problem+json before the route parses it; a body inside the limits reaches the route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import httpx
import pytest
from chassis import ServiceSettings, callers, create_app
from chassis.limits import nested_deeper_than
from chassis.testing import ServiceKeys, assert_problem, in_process_client
from fastapi import APIRouter, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

router = APIRouter(dependencies=[callers("tester")])
received: list[object] = []  # what the route was handed: nothing, for a refused body


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(max_length=100_000)]
    tags: Annotated[list[object], Field(max_length=10)] = []


@router.post("/v1/notes", status_code=201)
async def add_note(note: Note) -> dict[str, int]:
    received.append(note)
    return {"length": len(note.text)}


@router.get("/v1/notes")
async def list_notes() -> dict[str, int]:
    return {"count": len(received)}


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch, settings_env: None) -> ServiceSettings:
    monkeypatch.setenv("MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("MAX_JSON_DEPTH", "8")
    return ServiceSettings()  # type: ignore[call-arg]


@pytest.fixture
def app(limited: ServiceSettings) -> Iterator[FastAPI]:
    received.clear()
    yield create_app(limited, routers=[router])


@pytest.fixture
async def client(app: FastAPI, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(app, keys, "tester") as http:
        yield http


def nested(depth: int) -> str:
    return "[" * (depth - 1) + "1" + "]" * (depth - 1)


async def test_a_body_inside_the_limits_reaches_the_route(client: httpx.AsyncClient) -> None:
    text = "x" * 4000  # with the JSON around it, just under 4096 bytes
    response = await client.post("/v1/notes", json={"text": text, "tags": [nested(6)]})
    assert response.status_code == 201, response.text
    assert len(received) == 1


async def test_a_body_over_the_limit_by_its_length_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/notes", json={"text": "x" * 5000})
    body = assert_problem(response, 413, "body-too-large")
    assert body["detail"] == "The request body is over 4096 bytes."
    assert received == []


async def test_a_streamed_body_is_counted_as_it_arrives(client: httpx.AsyncClient) -> None:
    """No Content-Length (chunked): the count, not the header, stops it."""
    chunks_sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        yield b'{"text": "'
        for _ in range(100):
            chunks_sent += 1
            yield b"x" * 1000
        yield b'"}'

    response = await client.post(
        "/v1/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "body-too-large")
    assert received == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_a_body_that_is_not_json_is_refused(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/v1/notes", content=b'{"text": "hi"}', headers=headers)
    body = assert_problem(response, 415, "unsupported-media-type")
    given = f"'{content_type}'" if content_type else "no Content-Type"
    assert body["detail"] == f"The request body must be application/json; it was {given}."
    assert received == []


async def test_json_with_a_charset_is_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/notes",
        content=b'{"text": "hi"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_json_nested_too_deep_is_refused_before_parsing(client: httpx.AsyncClient) -> None:
    # {"text": .., "tags": [<8 levels>]} is 10 levels deep: over 8.
    body = '{"text": "hi", "tags": [' + nested(8) + "]}"
    response = await client.post(
        "/v1/notes", content=body, headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 400, "json-too-deep")
    assert "over 8 levels" in problem["detail"]
    assert received == []


async def test_a_deep_document_within_the_size_limit_costs_no_traceback(
    client: httpx.AsyncClient,
) -> None:
    """4,000 levels in 4 KiB: what would take Python's JSON parser into its recursion."""
    response = await client.post(
        "/v1/notes", content=nested(2000), headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "json-too-deep")


async def test_too_long_an_array_is_the_models_to_refuse(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/notes", json={"text": "hi", "tags": list(range(11))})
    problem = assert_problem(response, 422, "invalid-request")
    assert problem["errors"][0]["location"] == "body.tags"
    assert "at most 10 items" in problem["errors"][0]["message"]


async def test_a_request_without_a_body_passes(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/notes")
    assert response.status_code == 200, response.text


def test_the_contract_documents_the_refusals(app: FastAPI) -> None:
    responses = app.openapi()["paths"]["/v1/notes"]["post"]["responses"]
    for status in ("400", "413", "415"):
        assert "application/problem+json" in responses[status]["content"], status
    assert set(app.openapi()["paths"]["/v1/notes"]["get"]["responses"]) == {"200"}


@pytest.mark.parametrize(
    ("text", "deeper_than_2"),
    [
        ('{"a": [1]}', False),
        ('{"a": [[1]]}', True),
        ('{"a": "[[[[[[[[["}', False),  # brackets inside a string are text
        ('{"a": "\\"[[[[", "b": []}', False),  # an escaped quote does not end the string
        ('[[], [], {}, {"x": 1}]', False),
        ('{"a": [1', False),  # not JSON: the parser's to refuse
        ("1", False),
        ("", False),
    ],
)
def test_depth_is_judged_without_parsing(text: str, deeper_than_2: bool) -> None:
    assert nested_deeper_than(text.encode(), 2) is deeper_than_2
    if deeper_than_2:
        assert json.loads(text)  # deep, yet JSON: the judgement is about depth only


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    return 0


documents = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(document=documents, limit=st.integers(min_value=1, max_value=12))
def test_the_judgement_agrees_with_the_parsed_depth(document: object, limit: int) -> None:
    """Strings full of brackets and escapes included: the guard's depth is the parser's."""
    text = json.dumps(document).encode()
    assert nested_deeper_than(text, limit) is (depth_of(document) > limit)


def test_a_megabyte_of_brackets_is_judged_in_one_search() -> None:
    assert nested_deeper_than(b"[" * 500_000 + b"]" * 500_000, 32)
    assert nested_deeper_than(b"[[]" * 300_000 + b"]" * 300_000, 32)
