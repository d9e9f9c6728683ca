"""chassis.outbox's pure parts: an envelope that is not an event is Unpublishable, and what
is recorded about it never carries the payload's values (an address, a link's token)."""

from __future__ import annotations

from typing import Any

import pytest
from chassis.events import Event
from chassis.outbox import BrokerPublish, Unpublishable, describe


class NeverCalled:
    async def publish(self, stream: str, event: Event, traceparent: str | None = None) -> None:
        raise AssertionError("an invalid envelope reached the broker")


async def test_an_envelope_that_is_not_an_event_is_unpublishable_without_its_values() -> None:
    secret = "/verify-email/s3cret-token"
    envelope: dict[str, Any] = {"type": "AccountRegistered", "data": {"verify_url": secret}}
    with pytest.raises(Unpublishable) as refused:
        await BrokerPublish(NeverCalled())("events:accounts", envelope)  # type: ignore[arg-type]
    reason = describe(refused.value)
    assert reason.startswith("invalid event: ") and "version: Field required" in reason
    assert secret not in reason and "AccountRegistered" not in reason


def test_any_other_value_error_is_named_not_quoted() -> None:
    assert describe(ValueError("the token is s3cret")) == "ValueError"
