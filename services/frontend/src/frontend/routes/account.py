"""The account page: the profile and saved addresses of the signed-in user."""

import re

from chassis.concurrency import concurrently
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.clients.accounts import AccountsRefused, AddressForm
from frontend.dependencies import WITH_MENU, FormDep, PagesDep, ViewerDep

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])

ADDRESS_FIELDS = tuple(AddressForm.model_fields)
ADDRESS_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ADDRESS_NOT_FOUND = "That address was not found."


@router.get("/account")
async def account(request: Request, pages: PagesDep, viewer: ViewerDep) -> Response:
    profile, addresses = await concurrently(
        viewer.call("GET", "/v1/users/me"), viewer.call("GET", "/v1/users/me/addresses")
    )
    return pages.render(
        request,
        "account.html",
        title="Your account",
        profile=profile,
        addresses=addresses["items"],
        headers={"Cache-Control": "no-store"},
    )


@router.post("/account/addresses")
async def add_address(form: FormDep, viewer: ViewerDep) -> Response:
    draft = {name: form.get(name, "").strip() for name in ADDRESS_FIELDS}
    draft["country"] = draft["country"].upper()
    body = AddressForm.model_validate(draft).model_dump()
    try:
        await viewer.call("POST", "/v1/users/me/addresses", json=body)
    except AccountsRefused as refused:
        viewer.session.flash(_address_error(refused), "error")
    else:
        viewer.session.flash("Address saved.", "success")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/addresses/{address_id}/delete")
async def delete_address(address_id: str, form: FormDep, viewer: ViewerDep) -> Response:
    """Says what happened: removed, or not found (gone already, or another account's)."""
    if not ADDRESS_ID.fullmatch(address_id):
        viewer.session.flash(ADDRESS_NOT_FOUND, "error")
        return RedirectResponse("/account", status_code=303)
    try:
        await viewer.call("DELETE", f"/v1/users/me/addresses/{address_id}")
    except AccountsRefused as refused:
        # 404, or 422 for an id that cannot be one: the same to the person either way.
        not_found = refused.status in (404, 422)
        viewer.session.flash(ADDRESS_NOT_FOUND if not_found else _refusal(refused), "error")
    else:
        viewer.session.flash("Address removed.", "success")
    return RedirectResponse("/account", status_code=303)


def _refusal(refused: AccountsRefused) -> str:
    """A refusal the page has no words of its own for: accounts' reason, as it gave it."""
    return refused.detail or "That didn't work. Please try again."


def _address_error(refused: AccountsRefused) -> str:
    if refused.kind == "address-limit-reached":
        return "You have saved as many addresses as an account can keep; remove one first."
    if refused.status != 422:  # not the form's fault: say what accounts said
        return _refusal(refused)
    fields = sorted(
        {
            str(error.get("location", [""])[-1])
            for error in refused.problem.get("errors", [])
            if isinstance(error, dict) and error.get("location")
        }
    )
    named = ", ".join(name.replace("_", " ") for name in fields)
    return "Please check the address" + (f" ({named})." if named else ".")
