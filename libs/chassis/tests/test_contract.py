"""The contract helpers: drift, routes, errors documented with the wrong media type, and the
errors a problem table must name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from chassis import documented
from chassis.contract import (
    assert_up_to_date,
    error_classes,
    errors_not_problem_json,
    operations,
    render,
)
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


def test_the_committed_file_must_match_the_code(tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    with pytest.raises(AssertionError, match="differs from the API"):
        assert_up_to_date(path, b"{}", "python -m shop.openapi")  # missing
    path.write_bytes(b"{}")
    assert_up_to_date(path, b"{}", "python -m shop.openapi")


def test_operations_are_listed_per_path_sorted() -> None:
    app = FastAPI()

    @app.post("/things")
    @app.get("/things")
    async def things() -> None: ...

    assert operations(render(app)) == {"/things": ["get", "post"]}


class ShopError(Exception): ...


class Abstract(ShopError): ...


class NotFound(Abstract): ...


class Unrelated(Exception): ...


def test_error_classes_leave_out_the_base_and_the_abstract_ones() -> None:
    module = sys.modules[__name__]
    assert error_classes(ShopError, module) == {Abstract, NotFound}
    assert error_classes(ShopError, module, besides=(Abstract,)) == {NotFound}
