"""Sign-up, sign-in and sign-out pages, through accounts. Every post carries CSRF."""

from contextlib import suppress
from typing import Annotated
from urllib.parse import quote

from chassis import dependency
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.accounts import AccountsClient, AccountsRefused, SignedOut
from frontend.cart_owner import CartDep, merge_after_sign_in
from frontend.client_address import client_address
from frontend.dependencies import WITH_MENU, PagesDep
from frontend.forms import FormDep, SessionDep, local_path
from frontend.viewer import NotSignedIn, ViewerDep

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])

AccountsDep = Annotated[AccountsClient, Depends(dependency(AccountsClient))]
Next = Annotated[str, Query(max_length=500)]

SIGN_IN_REFUSED = "That email and password don't match an account. Please try again."
DEFAULT_LANDING = "/account"
# Where a shopper never wants to land after signing in: back on a sign-in form.
_NOT_A_LANDING = ("/sign-in", "/sign-up", "/sign-out")


def landing(value: str | None) -> str:
    """The page to return to after signing in or up: a local path (no open redirect)."""
    target = local_path(value, DEFAULT_LANDING)
    path = target.split("?", 1)[0].rstrip("/")
    return DEFAULT_LANDING if path in _NOT_A_LANDING else target


def _with_next(page: str, target: str) -> str:
    return page if target == DEFAULT_LANDING else f"{page}?next={quote(target)}"


DEFAULT_RETRY_AFTER = "60"  # when accounts names no wait of its own


def _too_many(refused: AccountsRefused) -> str:
    return f"Too many attempts for now. Please wait {_retry_after(refused)} seconds."


def _retry_after(refused: AccountsRefused) -> str:
    """accounts' Retry-After (seconds), passed on to the browser and its person."""
    given = str(refused.retry_after or "").strip()
    return given if given.isdecimal() and len(given) <= 6 else DEFAULT_RETRY_AFTER


def _limited(refused: AccountsRefused) -> dict[str, str] | None:
    return {"Retry-After": _retry_after(refused)} if refused.status == 429 else None


@router.get("/sign-in")
async def sign_in_page(request: Request, pages: PagesDep, next: Next = DEFAULT_LANDING) -> Response:
    return pages.render(request, "sign_in.html", title="Sign in", next=landing(next), email="")


@router.post("/sign-in")
async def sign_in(
    request: Request,
    form: FormDep,
    pages: PagesDep,
    accounts: AccountsDep,
    viewer: ViewerDep,
    carts: CartDep,
) -> Response:
    email, target = form.get("email", "").strip(), landing(form.get("next"))
    try:
        answer = await accounts.sign_in(email, form.get("password", ""), client_address(request))
    except AccountsRefused as refused:
        error = _too_many(refused) if refused.status == 429 else SIGN_IN_REFUSED
        status = 429 if refused.status == 429 else 401
        return pages.render(
            request, "sign_in.html", title="Sign in", status_code=status,
            headers=_limited(refused), error=error, email=email, next=target,
        )  # fmt: skip
    viewer.start(answer)
    await merge_after_sign_in(viewer, carts)
    viewer.session.flash(f"Welcome back, {answer['user']['display_name']}.", "success")
    return RedirectResponse(target, status_code=303)


@router.get("/sign-up")
async def sign_up_page(request: Request, pages: PagesDep, next: Next = DEFAULT_LANDING) -> Response:
    return pages.render(
        request, "sign_up.html", title="Create an account", email="", name="", next=landing(next)
    )


@router.post("/sign-up")
async def sign_up(
    request: Request,
    form: FormDep,
    pages: PagesDep,
    accounts: AccountsDep,
    viewer: ViewerDep,
    carts: CartDep,
) -> Response:
    email, name = form.get("email", "").strip(), form.get("name", "").strip()
    password, address = form.get("password", ""), client_address(request)
    target = landing(form.get("next"))

    def again(
        error: str, reasons: list[str], status: int, headers: dict[str, str] | None = None
    ) -> Response:
        return pages.render(
            request, "sign_up.html", title="Create an account", status_code=status,
            headers=headers, error=error, reasons=reasons, email=email, name=name, next=target,
        )  # fmt: skip

    try:
        await accounts.register(email, password, name, address)
    except AccountsRefused as refused:
        if refused.status == 429:
            return again(_too_many(refused), [], 429, _limited(refused))
        reasons = [str(r) for r in refused.problem.get("reasons", []) if isinstance(r, str)]
        return again(refused.detail or "Please check the form.", reasons, 422)
    try:
        answer = await accounts.sign_in(email, password, address)
    except AccountsRefused as refused:
        if refused.status == 429:  # the account may be new: say to wait, not that it exists
            viewer.session.flash(_too_many(refused), "error")
        else:  # accounts answers a taken email like a new one; its password tells them apart
            viewer.session.flash("If you already have an account with this email, please sign in.")
        return RedirectResponse(_with_next("/sign-in", target), status_code=303)
    viewer.start(answer)
    await merge_after_sign_in(viewer, carts)
    viewer.session.flash(f"Welcome to Mosaic, {answer['user']['display_name']}.", "success")
    return RedirectResponse(target, status_code=303)


@router.post("/sign-out")
async def sign_out(form: FormDep, viewer: ViewerDep, session: SessionDep) -> Response:
    """Ends every accounts session of the user, then forgets them here (new session id)."""
    with suppress(NotSignedIn, SignedOut):  # already over: signing out again is fine
        await viewer.call("DELETE", "/v1/sessions/current")
    viewer.forget()
    session.flash("You're signed out. See you soon.", "success")
    return RedirectResponse("/", status_code=303)
