"""Wiring: settings, the database, the processor and routes into one app."""

from __future__ import annotations

from chassis import Database, create_app, load_settings
from fastapi import FastAPI

from payments import api
from payments.cards import CardInvalid
from payments.domain import PaymentsError
from payments.problems import on_card_invalid, on_payments_error
from payments.processor import SimulatedProcessor
from payments.settings import PaymentsSettings


def create_payments_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or load_settings(PaymentsSettings)
    app = create_app(
        settings,
        title="Mosaic payments",
        description=(
            "Card charges and refunds as an idempotent, append-only ledger. Test cards only: "
            "a simulated processor answers by card number (see the README)."
        ),
        routers=[api.router],
        resources=[Database(settings.database_url, pool_size=settings.database_pool_size)],
    )
    app.state.processor = SimulatedProcessor(settings.processor_timeout_seconds)
    app.add_exception_handler(PaymentsError, on_payments_error)
    app.add_exception_handler(CardInvalid, on_card_invalid)
    return app
