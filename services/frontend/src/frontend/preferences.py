"""The shopper's preferences, kept in the session: the currency prices are shown in."""

import re

from fastapi import APIRouter
from starlette.responses import RedirectResponse

from frontend.currency import BASE_CURRENCY
from frontend.dependencies import CurrencyDep
from frontend.forms import FormDep, SessionDep, local_path

router = APIRouter()

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


@router.post("/currency")
async def choose_currency(
    form: FormDep, session: SessionDep, currency: CurrencyDep
) -> RedirectResponse:
    """Remember the currency and go back to the page the shopper was on (no JavaScript)."""
    code = form.get("currency", "")
    if CURRENCY_CODE.fullmatch(code) and (code == BASE_CURRENCY or currency.is_offered(code)):
        session["currency"] = code
    else:
        session.flash("That currency isn't one we can show prices in.", "error")
    return RedirectResponse(local_path(form.get("next")), status_code=303)
