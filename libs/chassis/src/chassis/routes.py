"""An app's API routes, as FastAPI holds them."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def api_routes(routes: Iterable[BaseRoute]) -> list[APIRoute]:
    """The API routes among an app's routes, from inside the routers it included: FastAPI
    (0.165) keeps each included router whole, as one entry of `app.routes`, so a look at
    the entries alone finds no route at all (and let routes without an allowlist through,
    until the fuzzing of issue 19 noticed)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found += api_routes(included.routes)
    return found
