"""Wiring: settings, the day's rates and the routes into one app."""

from __future__ import annotations

from chassis import create_app, get_logger, load_settings
from chassis.settings import fail
from fastapi import FastAPI

from currency import api
from currency.domain import CurrencyError, ReferenceRates
from currency.problems import on_currency_error
from currency.rates import RatesFileError, load_rates
from currency.settings import CurrencySettings


def create_currency_app(settings: CurrencySettings | None = None) -> FastAPI:
    settings = settings or load_settings(CurrencySettings)
    app = create_app(
        settings,
        title="Mosaic currency",
        description=(
            "The currencies the shop can show prices in, and conversions between them in "
            "integer minor units, from one day's euro reference rates of the ECB."
        ),
        routers=[api.router],
        on_startup=_announce,
    )
    # Loaded once, before serving (a bad file stops the process before anything starts);
    # the rates are immutable for the life of the process.
    app.state.rates = _rates(settings)
    app.add_exception_handler(CurrencyError, on_currency_error)
    return app


async def _announce(app: FastAPI) -> None:
    # In the lifespan, not at load: only then do log lines come out as the process's JSON.
    rates: ReferenceRates = app.state.rates
    get_logger("currency").info(
        "rates loaded",
        date=rates.date.isoformat(),
        publisher=rates.publisher,
        currencies=len(rates.currencies),
        not_offered=list(rates.not_offered),
    )


def _rates(settings: CurrencySettings) -> ReferenceRates:
    try:
        return load_rates(settings.rates_file)
    except RatesFileError as error:
        # Like any bad setting: one line naming the variable, exit 78.
        fail(f"configuration error: CURRENCY_RATES_FILE {settings.rates_file} {error}")
