"""Support for tests and benchmarks of the whole shop, driven from outside as a user, an
operator or one of its services would: `mosaic up` as a subprocess (`UpProcess`), shoppers
at its pages (`Shopper`, `Forms`), calls as its services (`service_client`, `Guest`), the
dev mailbox (`verification_link`), bounded waiting (`wait_until`), and the chaos run
(`mosaic_testing.chaos`). Used only by tests and bench/, never by the command line."""

from mosaic_testing.calls import Guest, ServiceToken, service_client
from mosaic_testing.mail import (
    FAST_REDELIVERY,
    REDELIVERY_SECONDS,
    REDELIVERY_WINDOW,
    VERIFY_LINK,
    Mail,
    verification_link,
)
from mosaic_testing.pages import (
    CHECKOUT_ADDRESS,
    CHECKOUT_SERVICES,
    TEST_CARD,
    Forms,
    Shopper,
    serves,
)
from mosaic_testing.processes import (
    MODES,
    ServiceProcess,
    UpProcess,
    mosaic,
    process_environment,
    trace_of_request,
    up_args,
)
from mosaic_testing.waiting import holds_for, wait_until

__all__ = [
    "CHECKOUT_ADDRESS",
    "CHECKOUT_SERVICES",
    "FAST_REDELIVERY",
    "MODES",
    "REDELIVERY_SECONDS",
    "REDELIVERY_WINDOW",
    "TEST_CARD",
    "VERIFY_LINK",
    "Forms",
    "Guest",
    "Mail",
    "ServiceProcess",
    "ServiceToken",
    "Shopper",
    "UpProcess",
    "holds_for",
    "mosaic",
    "process_environment",
    "serves",
    "service_client",
    "trace_of_request",
    "up_args",
    "verification_link",
    "wait_until",
]
