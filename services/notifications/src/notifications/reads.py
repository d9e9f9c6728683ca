"""What notifications reads of other services: events only (it calls no service). Each
subscribed (type, version) with the model its `data` is validated with (`order_events.py`,
`account_events.py`). `chassis.consumers` checks each against the producer's committed event
schema (services/<producer>/events/<Type>.v<N>.json) in
tests/architecture/test_consumer_reads.py, and that this list is what the handlers
subscribe to (`handler.SUBSCRIBED`, `account_mail.SUBSCRIBED`).
"""

from __future__ import annotations

from chassis.consumers import EventRead, Reads

from notifications.account_events import AddressTakenV1, VerificationV1
from notifications.order_events import OrderConfirmedV1

READS = Reads(
    "notifications",
    events=(
        EventRead("orders", "OrderConfirmed", 1, OrderConfirmedV1),
        EventRead("accounts", "AccountRegistered", 1, VerificationV1),
        EventRead("accounts", "VerificationRequested", 1, VerificationV1),
        EventRead("accounts", "SignUpWithTakenAddress", 1, AddressTakenV1),
    ),
)
