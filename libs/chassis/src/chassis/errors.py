"""RFC 9457 problem details: every error a caller sees, and never a traceback.

`Problem` is raised by handlers for expected failures; the installed handlers turn it,
FastAPI's validation errors, HTTP errors and any unexpected exception into
`application/problem+json` with a stable `type`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from chassis import context
from chassis.routes import api_routes

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://mosaic.dev/problems/"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    431: "Request header fields too large",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class Problem(Exception):
    """An expected failure, shown to the caller as problem+json.

    `kind` is a short stable slug (`product-not-found`); it becomes the `type` URI.
    """

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if request_id := context.request_id.get():
            body["request_id"] = request_id
        body.update(self.extensions)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        content=orjson.dumps(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "location": ".".join(str(part) for part in err.get("loc", ())),
            "message": err.get("msg", ""),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
    problem = Problem(422, "invalid-request", summary or "invalid request", errors=errors)
    return problem_response(problem, request.url.path)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    own_kind = getattr(exc, "kind", None)  # a refusal naming its kind (chassis.limits)
    if exc.status_code == 400 and exc.__cause__ is not None and own_kind is None:
        # FastAPI's answer to a body it could not even decode (bytes that are not UTF-8):
        # the same 422 as for malformed JSON, which is what every contract documents.
        # Found by fuzzing every API (tests/system/test_api_fuzz.py).
        problem = Problem(
            422,
            "invalid-request",
            "body: the body is not valid JSON (UTF-8)",
            errors=[{"location": "body", "message": "not valid JSON (UTF-8)"}],
        )
        return problem_response(problem, request.url.path)
    kind = own_kind or _HTTP_KINDS.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    problem = Problem(exc.status_code, kind, detail, headers=headers)
    return problem_response(problem, request.url.path)


_HTTP_KINDS = {404: "not-found", 405: "method-not-allowed"}


def _allowed_methods(request: Request) -> str:
    """The methods of the resource the path names (RFC 9110: `Allow` lists them all).
    Starlette names only those of the first route that matched, and FastAPI makes a route
    per method. Where templates overlap (`/carts/merge`, `/carts/{cart_id}`), the resource
    is the most literal one, as the contract reads it."""
    matching = [
        route
        for route in api_routes(request.app.router.routes)
        if route.matches({**request.scope, "method": next(iter(route.methods or ()), "GET")})[0]
        != Match.NONE
    ]
    if not matching:
        return ""
    resource = min((r.path for r in matching), key=lambda path: path.count("{"))
    methods = {m for r in matching if r.path == resource for m in r.methods or ()}
    return ", ".join(sorted(methods))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)


class FieldError(BaseModel):
    location: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error is sent."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None  # on 422: which parameter or field, and why


def documented(description: str) -> dict[str, Any]:
    """An error response for a route's `responses=`, with the media type it really has.

    Without it FastAPI documents errors as `application/json` `HTTPValidationError`, which
    is not what callers receive.
    """
    schema = ProblemDetails.model_json_schema()
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
