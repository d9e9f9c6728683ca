"""Sign-up, sign-in and sign-out pages, through accounts. Every post carries CSRF.

Sign-up never signs anyone in: its answer is the same "check your e-mail" whether or not
the address has an account (accounts mails the address either way), and the link in that
mail, with the password chosen at that sign-up, proves the address and signs its owner in
(`/verify-email/<token>`).
"""

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.clients.accounts import AccountsRefused, SignedOut, SignUpForm
from frontend.dependencies import (
    WITH_MENU,
    AccountsDep,
    FormDep,
    PagesDep,
    SessionDep,
    SigningInDep,
    ViewerDep,
)
from frontend.web.client_address import client_address
from frontend.web.forms import local_path
from frontend.web.viewer import NotSignedIn

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])
ENTER_GIVEN_NAME = "Enter your given name: it is what the shop greets you by."

Next = Annotated[str, Query(max_length=500)]

SIGN_IN_REFUSED = "That email and password don't match an account. Please try again."
# Said only after the right password (accounts checks it first): no stranger learns of it.
NOT_CONFIRMED = (
    "Please confirm your e-mail address first: open the link we sent to it. "
    "No e-mail? We can send a new link."
)
LINK_REFUSED = (
    "This link does not work any more: each link works once, and only for a while. "
    "If your address is confirmed already, sign in; if not, ask for a new link below."
)
# Only whoever chose the sign-up's password confirms with its link: a stranger who signed
# up again with the address (replacing the password) must not be confirmed by its owner.
SIGN_UP_MISMATCH = (
    "That password does not match the sign-up this link was sent for. Enter the password "
    "you chose when you signed up; if you no longer know it, sign up again to choose a new one."
)
SIGN_UP_CHOICE_NEEDED = "Please enter the password you chose when you signed up."
CHECK_EMAIL = "/sign-up/check-email"
Token = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
DEFAULT_LANDING = "/account"
# Where a shopper never wants to land after signing in: back on a sign-in form.
_NOT_A_LANDING = ("/sign-in", "/sign-up", "/sign-out", "/sign-up/check-email", "/verify-email")


def landing(value: str | None) -> str:
    """The page to return to after signing in or up: a local path (no open redirect)."""
    target = local_path(value, DEFAULT_LANDING)
    path = target.split("?", 1)[0].rstrip("/")
    done = path in _NOT_A_LANDING or path.startswith("/verify-email/")  # a link used once
    return DEFAULT_LANDING if done else target


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
    request: Request, form: FormDep, pages: PagesDep, signing_in: SigningInDep
) -> Response:
    email, target = form.get("email", "").strip(), landing(form.get("next"))
    try:
        answer = await signing_in.with_password(email, form.get("password", ""))
    except AccountsRefused as refused:
        unconfirmed = refused.status == 403 and refused.kind == "email-unverified"
        if refused.status == 429:
            error, status = _too_many(refused), 429
        else:
            error, status = (NOT_CONFIRMED, 403) if unconfirmed else (SIGN_IN_REFUSED, 401)
        return pages.render(
            request, "sign_in.html", title="Sign in", status_code=status,
            headers=_limited(refused), error=error, email=email, next=target,
            resend=unconfirmed,
        )  # fmt: skip
    welcome = f"Welcome back, {answer['user']['given_name']}."
    return await signing_in.begin(answer, welcome, target)


@router.get("/sign-up")
async def sign_up_page(request: Request, pages: PagesDep, next: Next = DEFAULT_LANDING) -> Response:
    return pages.render(
        request, "sign_up.html", title="Create an account", email="", given_name="",
        family_name="", next=landing(next),
    )  # fmt: skip


@router.post("/sign-up")
async def sign_up(
    request: Request, form: FormDep, pages: PagesDep, accounts: AccountsDep, session: SessionDep
) -> Response:
    email = form.get("email", "").strip()
    given, family = form.get("given_name", "").strip(), form.get("family_name", "").strip()
    password, address = form.get("password", ""), client_address(request)
    target = landing(form.get("next"))

    def again(
        error: str, reasons: list[str], status: int, headers: dict[str, str] | None = None
    ) -> Response:
        return pages.render(
            request, "sign_up.html", title="Create an account", status_code=status,
            headers=headers, error=error, reasons=reasons, email=email, given_name=given,
            family_name=family, next=target,
        )  # fmt: skip

    if not given:  # also a page of two releases before, with one "name" field
        return again(ENTER_GIVEN_NAME, [], 422)
    sign_up = SignUpForm(
        email=email, password=password, given_name=given, family_name=family or None
    )
    try:
        await accounts.register(sign_up, address)
    except AccountsRefused as refused:
        if refused.status == 429:
            return again(_too_many(refused), [], 429, _limited(refused))
        reasons = [str(r) for r in refused.problem.get("reasons", []) if isinstance(r, str)]
        return again(refused.detail or "Please check the form.", reasons, 422)
    # The same answer for a free and a taken address: the mail says which it was. Where to
    # go once the link is opened (in this browser) waits in the session.
    session["landing"] = target
    return RedirectResponse(CHECK_EMAIL, status_code=303)


@router.get(CHECK_EMAIL)
async def check_email_page(request: Request, pages: PagesDep) -> Response:
    return pages.render(request, "check_email.html", title="Check your e-mail")


@router.post("/verify-email/resend")
async def resend_link(
    request: Request, form: FormDep, pages: PagesDep, accounts: AccountsDep
) -> Response:
    """A new link, if the address has an account waiting for one; the same answer always."""
    email = form.get("email", "").strip()
    try:
        await accounts.request_verification(email, client_address(request))
    except AccountsRefused as refused:
        error = _too_many(refused) if refused.status == 429 else "Please check the address."
        status = 429 if refused.status == 429 else 422
        return pages.render(
            request, "check_email.html", title="Check your e-mail", status_code=status,
            headers=_limited(refused), error=error, email=email,
        )  # fmt: skip
    return RedirectResponse(CHECK_EMAIL, status_code=303)


@router.get("/verify-email/{token}")
async def verify_page(request: Request, pages: PagesDep, token: Token) -> Response:
    """The link from the mail. Only a form here: mail scanners open links, and opening
    must not use up a link that works once. The form asks for the sign-up's password
    (accounts confirms only with it)."""
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return pages.render(
        request, "verify_email.html", title="Confirm your e-mail", token=token, headers=headers
    )


@router.post("/verify-email")
async def verify(
    request: Request, form: FormDep, pages: PagesDep, signing_in: SigningInDep
) -> Response:
    token, password = form.get("token", ""), form.get("password", "")

    def again(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        # The link still works, for the right password: the same form again.
        return pages.render(
            request, "verify_email.html", title="Confirm your e-mail", status_code=status,
            error=error, token=token, headers={"Cache-Control": "no-store", **(headers or {})},
        )  # fmt: skip

    if not password:
        return again(SIGN_UP_CHOICE_NEEDED, 422)
    try:
        answer = await signing_in.with_link(token, password)
    except AccountsRefused as refused:
        if refused.status == 429:
            return again(_too_many(refused), 429, _limited(refused))
        if refused.status == 403:
            return again(SIGN_UP_MISMATCH, 403)
        # Unknown, used or expired (or not a token at all): one answer.
        return pages.render(
            request, "verify_email.html", title="Confirm your e-mail", status_code=410,
            error=LINK_REFUSED, link_refused=True, token="", headers={"Cache-Control": "no-store"},
        )  # fmt: skip
    target = landing(signing_in.viewer.session.pop("landing", None))
    welcome = f"Your address is confirmed. Welcome to Mosaic, {answer['user']['given_name']}."
    return await signing_in.begin(answer, welcome, target)


@router.post("/sign-out")
async def sign_out(form: FormDep, viewer: ViewerDep, session: SessionDep) -> Response:
    """Ends every accounts session of the user, then forgets them here (new session id)."""
    with suppress(NotSignedIn, SignedOut):  # already over: signing out again is fine
        await viewer.call("DELETE", "/v1/sessions/current")
    viewer.forget()
    session.flash("You're signed out. See you soon.", "success")
    return RedirectResponse("/", status_code=303)
