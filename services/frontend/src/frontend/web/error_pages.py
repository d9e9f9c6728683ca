"""Friendly HTML error pages in place of the chassis' problem+json: people read these.

Every failure a shopper can meet gets a page in the shop's layout with a way forward, and
the right status code for crawlers and caches. Never a stack trace.
"""

from collections.abc import Mapping
from urllib.parse import quote

from chassis import Problem, context, get_logger
from chassis.errors import problem_response
from chassis.middleware import route_template
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from frontend.clients.accounts import AccountsRefused
from frontend.clients.cart import CartUnavailable
from frontend.clients.catalog import (
    CatalogBroken,
    Category,
    CategoryNotFound,
    ProductNotFound,
)
from frontend.clients.orders import AccessRefused, OrdersUnavailable
from frontend.web.forms import CsrfRejected, session_of
from frontend.web.rendering import Pages, wants_partial
from frontend.web.viewer import NotSignedIn, forget_user

_log = get_logger("frontend.errors")

RETRY_AFTER_SECONDS = "10"

_PARAMETER_HINTS = {
    "page": "The page number must be a whole number from 1 up.",
    "q": "Search terms can be up to 100 characters long.",
}


# What the request limits (chassis.limits) refuse, said to a person.
_REFUSED_POSTS = {
    413: "That form submission is too large. Please shorten what you typed and retry.",
    415: "That form submission isn't one we understand. Please go back and retry.",
}


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def _menu(request: Request) -> list[Category]:
    """The category menu for a "not found" page, so a lost shopper has somewhere to go.

    Best effort: the last known menu, refreshed if it is old; never fails the page.
    """
    catalog = _pages(request).catalog
    await catalog.refresh_menu()
    return catalog.menu


def _error_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    retry: bool = False,
    headers: Mapping[str, str] | None = None,
    categories: list[Category] | None = None,
    back: tuple[str, str] | None = None,
    reference: str | None = None,
) -> Response:
    retry_href = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = {"Cache-Control": "no-store", **(headers or {})}
    if wants_partial(request):
        # htmx asked for a fragment: the error page replaces the whole page instead, as the
        # same failure would without JavaScript (base.html's htmx-config swaps 4xx/5xx).
        headers |= {"HX-Retarget": "body", "HX-Reswap": "innerHTML"}
    pages = _pages(request)
    return pages.render(
        request,
        "error.html",
        title=title,
        status_code=status,
        headers=headers,
        status=status,
        message=message,
        retry_href=retry_href if retry else None,
        back=back,
        reference=reference,
        categories=categories or pages.catalog.menu,
    )


async def _product_not_found(request: Request, exc: Exception) -> Response:
    message = "This product may have sold out for good, or the link may be mistyped."
    menu = await _menu(request)
    return _error_page(request, 404, "We couldn't find that product", message, categories=menu)


async def _category_not_found(request: Request, exc: Exception) -> Response:
    message = "There is no category at this address. Try one from the menu above."
    menu = await _menu(request)
    return _error_page(request, 404, "We couldn't find that category", message, categories=menu)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    names = {str(err["loc"][-1]) for err in exc.errors() if err.get("loc")}
    hints = [_PARAMETER_HINTS[name] for name in sorted(names) if name in _PARAMETER_HINTS]
    message = " ".join(hints) or "Part of this address isn't something we understand."
    return _error_page(request, 400, "That link doesn't look right", message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = exc.detail if exc.detail != "Not Found" else "There is nothing at this address."
        return _error_page(request, 404, "Page not found", message, categories=await _menu(request))
    if exc.status_code == 405:
        message = "This address only shows a page; it does not take submissions."
        return _error_page(request, 405, "That didn't work", message, headers=exc.headers)
    message = _REFUSED_POSTS.get(exc.status_code, "Please go back and retry.")
    return _error_page(request, exc.status_code, "That didn't work", message)


async def _catalog_unavailable(request: Request, exc: Exception) -> Response:
    # Expected in operation (catalog down, slow or misbehaving): a warning, not a traceback.
    _log.warning("catalog unavailable", error=type(exc).__name__, detail=str(exc))
    message = (
        "Our product shelves aren't answering right now. Nothing is wrong on your side; "
        "please try again in a moment."
    )
    return _error_page(
        request,
        503,
        "The shop is taking a short break",
        message,
        retry=True,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _orders_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("orders unavailable", error=type(exc).__name__, detail=str(exc))
    if request.method == "POST":
        title = "We couldn't place your order just now"
        message = (
            "Our order desk isn't answering right now, so your order wasn't placed. Your cart "
            "is kept just as it was: please go back to the checkout and try again in a moment."
        )
    else:
        title = "Orders are taking a short break"
        message = "We can't show orders right now. Nothing is lost; please try again shortly."
    return _error_page(
        request, 503, title, message,
        retry=request.method == "GET", headers={"Retry-After": RETRY_AFTER_SECONDS},
        back=("Back to checkout", "/checkout") if request.method == "POST" else None,
    )  # fmt: skip


async def _cart_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("cart unavailable", error=type(exc).__name__, detail=str(exc))
    message = "Your cart can't be reached right now. Nothing is lost; please try again shortly."
    return _error_page(
        request, 503, "The cart is taking a short break", message,
        retry=request.method == "GET", headers={"Retry-After": RETRY_AFTER_SECONDS},
    )  # fmt: skip


async def sessions_unavailable(request: Request) -> Response:
    """Valkey, where sessions live, cannot be reached: a page without forms, try again soon.

    Logged by the session middleware; rendered here so it looks like every other page.
    """
    message = (
        "We can't keep track of your visit right now, so pages and your cart are paused. "
        "Nothing is wrong on your side; please try again in a moment."
    )
    return _error_page(
        request,
        503,
        "The shop is taking a short break",
        message,
        retry=request.method == "GET",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if exc.status >= 500:  # upstream unavailable, timed out or rejected us: all "try later"
        return await _catalog_unavailable(request, exc)
    return _error_page(request, exc.status, exc.title, exc.detail)


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    _log.warning("form refused without its CSRF token", route=route_template(request.scope))
    message = (
        "This form had expired or didn't come from our shop, so nothing was changed. "
        "Please go back, reload the page and try again."
    )
    return _error_page(request, 403, "That form couldn't be accepted", message)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    session_of(request).flash("Please sign in to see that page.")
    target = request.url.path if request.method == "GET" else "/account"
    return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)


async def _access_refused(request: Request, exc: Exception) -> Response:
    """A shopper's token that orders no longer trusts: signed out, then as `_not_signed_in`."""
    _log.info("access token refused: signed out", refused=str(exc))
    forget_user(session_of(request))
    return await _not_signed_in(request, exc)


async def _accounts_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccountsRefused)
    message = exc.detail or "Please go back and try again."
    return _error_page(request, exc.status, "That didn't work", message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A person gets a page, with the request id to quote; anything else problem+json.

    Called by the chassis's ErrorBoundary, which has logged the error already.
    """
    if not wants_page(request):
        problem = Problem(500, "internal", "Something went wrong on our side; it is logged.")
        return problem_response(problem, request.url.path)
    message = "Something went wrong on our side. It has been logged; please try again."
    return _error_page(
        request, 500, "Sorry, that's our fault", message,
        retry=True, reference=context.request_id.get(),
    )  # fmt: skip


def wants_page(request: Request) -> bool:
    """A browser's navigation asks for text/html, htmx for a fragment of a page; a script
    asking for JSON (or for nothing in particular) gets the machine-readable answer."""
    return wants_partial(request) or "text/html" in request.headers.get("accept", "")


def install_error_pages(app: FastAPI) -> None:
    """Replaces the chassis' JSON handlers (same keys, so these win)."""
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(AccessRefused, _access_refused)
    app.add_exception_handler(AccountsRefused, _accounts_refused)
    app.add_exception_handler(ProductNotFound, _product_not_found)
    app.add_exception_handler(CategoryNotFound, _category_not_found)
    app.add_exception_handler(CatalogBroken, _catalog_unavailable)
    app.add_exception_handler(OrdersUnavailable, _orders_unavailable)
    app.add_exception_handler(CartUnavailable, _cart_unavailable)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
