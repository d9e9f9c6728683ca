"""An error nobody expected: a person gets the shop's page, a script problem+json.

The chassis's request middleware catches every unexpected error first (it logs it with
the request's context); the frontend's own 500 handler must still decide the answer.
"""

import httpx
import pytest
from fastapi import FastAPI


class Broken(Exception):
    """Stands in for a bug: nothing in the frontend handles it."""


@pytest.fixture
def broken_page(app: FastAPI) -> str:
    async def broken() -> None:
        raise Broken("a bug in a page")

    app.add_api_route("/broken", broken)
    return "/broken"


async def test_a_page_request_gets_the_html_error_page_with_its_request_id(
    shop: httpx.AsyncClient, audit, broken_page: str
):
    response = await shop.get(broken_page, headers={"accept": "text/html,*/*;q=0.8"})

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    page = audit(response.text)
    assert page.heading == "Sorry, that's our fault"
    request_id = response.headers["x-request-id"]
    assert request_id in response.text  # the reference a shopper can quote
    assert "Traceback" not in response.text and "a bug in a page" not in response.text


async def test_an_htmx_request_gets_the_page_too(shop: httpx.AsyncClient, broken_page: str):
    response = await shop.get(broken_page, headers={"hx-request": "true", "accept": "*/*"})

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["hx-retarget"] == "body"


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
async def test_a_request_not_asking_for_html_gets_problem_json(
    shop: httpx.AsyncClient, broken_page: str, accept: str | None
):
    headers = {"accept": accept} if accept else {}
    if accept is None:
        shop.headers.pop("accept", None)
    response = await shop.get(broken_page, headers=headers)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/internal")
    assert problem["request_id"] == response.headers["x-request-id"]
    assert "a bug in a page" not in response.text
