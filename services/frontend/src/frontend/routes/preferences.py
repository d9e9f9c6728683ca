"""The shopper's preferences, kept in the session: the currency prices are shown in."""

import re

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from frontend.clients.currency import BASE_CURRENCY
from frontend.dependencies import CurrencyDep, FormDep, SessionDep
from frontend.web.forms import local_path
from frontend.web.rendering import wants_partial

router = APIRouter()

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


@router.post("/currency")
async def choose_currency(
    request: Request, form: FormDep, session: SessionDep, currency: CurrencyDep
) -> Response:
    """Remember the currency and go back to the page the shopper was on.

    Without JavaScript that is a redirect after pressing "Set"; with htmx the choice applies
    as soon as it is made, and the page reloads (every price on it changes).
    """
    code = form.get("currency", "")
    if CURRENCY_CODE.fullmatch(code) and (code == BASE_CURRENCY or currency.is_offered(code)):
        session["currency"] = code
    else:
        session.flash("That currency isn't one we can show prices in.", "error")
    target = local_path(form.get("next"))
    if wants_partial(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
