"""Product pictures, proxied from catalog so the browser only ever talks to the shop.

Catalog's caching headers and ETag pass through untouched, and a browser's `If-None-Match`
goes the other way, so a revalidation costs catalog a 304 and no body.
"""

from typing import Annotated

from chassis import Problem
from fastapi import APIRouter, Header
from starlette.responses import Response

from frontend.clients.catalog import CatalogError, is_product_id
from frontend.dependencies import CatalogDep

router = APIRouter()

SVG = "image/svg+xml"
# Pictures are images, never documents: if someone opens one directly, nothing in it may run.
PICTURE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
# Shown in place of a missing picture (an <img> renders an error body too); a neutral tile.
PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400">'
    b'<rect width="400" height="400" fill="#efe9e1"/>'
    b'<path d="M140 250l50-60 40 45 30-30 40 45z" fill="#d8cfc3"/>'
    b'<circle cx="250" cy="160" r="20" fill="#d8cfc3"/></svg>'
)


def _placeholder(status: int, cache_control: str) -> Response:
    return Response(
        PLACEHOLDER,
        status_code=status,
        media_type=SVG,
        headers={"Cache-Control": cache_control, "Content-Security-Policy": PICTURE_CSP},
    )


@router.get("/pictures/{picture_id}.svg", response_class=Response)
async def picture(
    picture_id: str,
    catalog: CatalogDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    if not is_product_id(picture_id):
        return _placeholder(404, "public, max-age=300")
    try:
        answer = await catalog.picture(f"{picture_id}.svg", if_none_match=if_none_match)
    except (Problem, CatalogError):
        # Catalog is down or slow: the page around the picture may still be useful.
        return _placeholder(503, "no-store")
    if answer.status == 404:
        return _placeholder(404, "public, max-age=300")
    if answer.status not in (200, 304):
        return _placeholder(503, "no-store")
    headers = {**answer.headers, "Content-Security-Policy": PICTURE_CSP}
    if answer.status == 304:
        headers.pop("content-type", None)
        return Response(status_code=304, headers=headers)
    headers["content-type"] = SVG  # whatever catalog says: this route only serves SVG
    return Response(answer.body, status_code=200, headers=headers)
