"""The contract helpers catch an error documented with the wrong media type."""

from __future__ import annotations

from chassis import documented
from chassis.contract import errors_not_problem_json, render
from fastapi import FastAPI


def test_finds_errors_documented_as_plain_json_and_accepts_problem_json() -> None:
    app = FastAPI()

    @app.get("/good", responses={404: documented("missing")})
    async def good() -> None: ...

    @app.get("/bad", responses={404: {"description": "missing"}})
    async def bad() -> None: ...

    wrong = errors_not_problem_json(render(app))
    assert "GET /bad 404" in wrong
    assert not any(entry.startswith("GET /good 404") for entry in wrong)
