"""The app factory's behaviour as a caller sees it: problem+json, deadlines, the request log."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from chassis import Problem, ServiceSettings, callers, configure_logging, context, create_app
from chassis.testing import ServiceKeys
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from .conftest import calling

router = APIRouter(dependencies=[callers("tester")])


@router.get("/v1/things/{thing_id}")
async def get_thing(thing_id: int, limit: int = 10) -> dict[str, int]:
    if thing_id == 404:
        raise Problem(404, "thing-not-found", f"There is no thing {thing_id}.")
    if thing_id == 500:
        raise RuntimeError("database password is hunter2")
    return {"id": thing_id, "limit": limit}


class Renaming(BaseModel):
    name: str


@router.put("/v1/things/{thing_id}")
async def put_thing(thing_id: int, body: Renaming) -> dict[str, int | str]:
    return {"id": thing_id, "name": body.name}


@router.post("/v1/things/recount")
async def recount() -> dict[str, int]:
    return {"things": 3}


@pytest.fixture
async def client(settings: ServiceSettings, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, routers=[router])
    async with calling(app, keys.headers("tester", settings.service_name)) as client:
        yield client


async def test_success_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/things/7")
    assert response.status_code == 200
    assert response.json() == {"id": 7, "limit": 10}
    assert response.headers["x-request-id"]


async def test_caller_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/things/7", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


async def test_problem_is_rfc9457(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/things/404")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/thing-not-found")
    assert body["status"] == 404
    assert body["title"] == "Not found"
    assert body["detail"] == "There is no thing 404."
    assert body["instance"] == "/v1/things/404"


@pytest.mark.parametrize("url", ["/v1/things/abc", "/v1/things/1?limit=lots"])
async def test_bad_input_is_422_problem(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid-request")
    assert body["errors"][0]["location"].startswith(("path.", "query."))


@pytest.mark.parametrize(
    "body", [b"\xff\xfe not UTF-8", b'{"name": "unfinished'], ids=["undecodable", "malformed"]
)
async def test_a_body_that_is_not_json_is_422_problem(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.put(
        "/v1/things/7", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text  # FastAPI alone: 400 for the first
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-request")
    assert problem["errors"][0]["location"].startswith("body")


async def test_method_not_allowed_names_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/v1/things/7")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    # Starlette alone names those of the first route only (GET): RFC 9110 wants all.
    assert response.headers["allow"] == "GET, PUT"
    # Where templates overlap, the resource is the literal one, as the contract reads it.
    overlapping = await client.delete("/v1/things/recount")
    assert overlapping.status_code == 405
    assert overlapping.headers["allow"] == "POST"


def test_a_route_without_an_allowlist_stops_the_app_from_being_built(
    settings: ServiceSettings,
) -> None:
    unguarded = APIRouter()

    @unguarded.get("/v1/open")
    async def open_door() -> dict[str, str]:
        return {}

    # Inside an included router, where FastAPI 0.165 keeps its routes.
    with pytest.raises(RuntimeError, match="without a caller allowlist: GET /v1/open"):
        create_app(settings, routers=[router, unguarded])


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_unexpected_error_is_500_problem_without_traceback(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/things/500")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["type"].endswith("/internal")


async def test_expired_deadline_is_refused_without_running_the_handler(
    client: httpx.AsyncClient,
) -> None:
    expired = str(int((time.time() - 1) * 1000))
    response = await client.get("/v1/things/500", headers={"x-deadline": expired})
    assert response.status_code == 504
    assert response.json()["type"].endswith("/deadline-exceeded")


async def test_future_deadline_is_served(client: httpx.AsyncClient) -> None:
    future = str(int((time.time() + 5) * 1000))
    response = await client.get("/v1/things/1", headers={"x-deadline": future})
    assert response.status_code == 200


async def test_no_caller_gets_more_than_the_budget(
    settings: ServiceSettings, keys: ServiceKeys
) -> None:
    seen: list[float | None] = []
    probe = APIRouter(dependencies=[callers("tester")])

    @probe.get("/v1/deadline")
    async def deadline() -> None:
        seen.append(context.remaining_seconds())

    for edge in (False, True):
        app = create_app(settings.model_copy(update={"edge": edge}), routers=[probe])
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            headers = keys.headers("tester", settings.service_name)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers=headers
            ) as client:
                far = str(int((time.time() + 3600) * 1000))
                await client.get("/v1/deadline", headers={"x-deadline": far})
                soon = str(int((time.time() + 1) * 1000))
                await client.get("/v1/deadline", headers={"x-deadline": soon})
    budget = settings.request_budget_ms / 1000
    inner_far, inner_soon, edge_far, edge_soon = seen
    assert inner_far is not None and inner_far <= budget  # capped
    assert inner_soon is not None and inner_soon <= 1  # the caller's shorter deadline holds
    # At the edge, a browser's header is ignored: the service's own budget applies.
    assert edge_far is not None and edge_soon is not None
    assert budget - 1 < edge_soon <= budget


async def test_one_canonical_json_line_per_request(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(service="testsvc", version="1.2.3", log_format="json")
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    capsys.readouterr()
    await client.get(
        "/v1/things/9",
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01", "x-request-id": "r-1"},
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) == 1
    line = requests[0]
    assert line["service"] == "testsvc"
    assert line["version"] == "1.2.3"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/things/{thing_id}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"] == "r-1"
    assert line["trace_id"] == trace_id
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


async def test_library_logs_use_the_same_renderer(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    configure_logging(service="testsvc", version="1", log_format="json")
    capsys.readouterr()
    logging.getLogger("some.library").warning("disk %s is full", "sda")
    line = json.loads(capsys.readouterr().out)
    assert line["event"] == "disk sda is full"
    assert line["service"] == "testsvc"
    assert line["level"] == "warning"


@pytest.mark.parametrize("nested", [False, True], ids=["router", "router in a router"])
def test_a_route_without_an_allowlist_stops_the_app(
    settings: ServiceSettings, nested: bool
) -> None:
    """Also where FastAPI keeps an included router opaque in `app.routes` (0.165)."""
    open_router = APIRouter()

    @open_router.get("/v1/open")
    async def open_route() -> dict[str, str]:
        return {}

    outer = APIRouter()
    outer.include_router(open_router)
    with pytest.raises(RuntimeError, match="routes without a caller allowlist: GET /v1/open"):
        create_app(settings, routers=[outer if nested else open_router])
