"""The handler without broker, database or SMTP server: what it acks without sending.

Types it does not subscribe to are acked quietly (the handler returns), and so are versions
of a subscribed type it does not read (an info line: the producer publishes the version we
read beside them); malformed data and an id that is not a UUID raise PermanentFailure (the
consumer dead-letters them) with a warning; none reaches the database or the mailer.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from chassis import Database, configure_logging
from chassis.events import Event, PermanentFailure
from notifications.handler import Notifier


class UntouchableDatabase(Database):
    """Fails the test if the handler opens a transaction."""

    def __init__(self) -> None:
        super().__init__("postgresql://nobody@127.0.0.1:1/none")

    def session(self) -> Any:
        raise AssertionError("the handler touched the database")


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@dataclass(frozen=True)
class LooseEvent:
    """An envelope as a producer might get it wrong."""

    id: Any
    type: str
    version: int
    data: Any


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def notifier(mailer: RecordingMailer) -> Notifier:
    return Notifier(
        UntouchableDatabase(), mailer, shop_url="http://shop", sender="orders@mosaic.example"
    )


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The structlog event dicts of the warnings logged (through the stdlib, as configured)."""
    return [
        dict(record.msg)
        for record in caplog.records
        if record.levelno == logging.WARNING and isinstance(record.msg, dict)
    ]


@pytest.fixture(autouse=True)
def chassis_logs() -> None:
    configure_logging(service="notifications", version="test", log_format="json")


@pytest.mark.parametrize(
    ("event_type", "version"),
    [("OrderCancelled", 1), ("OrderCancelled", 7), ("OrderShipped", 1), ("orderconfirmed", 1)],
)
async def test_types_it_does_not_subscribe_to_are_acked_quietly(
    notifier: Notifier,
    mailer: RecordingMailer,
    order_data: Any,
    caplog: pytest.LogCaptureFixture,
    event_type: str,
    version: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    event = Event(type=event_type, version=version, data=order_data())
    await notifier.handle(event)  # returns: the consumer acks
    assert mailer.sent == []
    assert warnings_logged(caplog) == []  # one per cancelled order was noise
    [skipped] = [
        dict(r.msg)
        for r in caplog.records
        if r.levelno == logging.DEBUG and isinstance(r.msg, dict)
    ]
    assert skipped["event"] == "event skipped: not subscribed to this type"
    assert skipped["event_type"] == event_type


@pytest.mark.parametrize("data", [{}, {"a": "shape v1 never had"}])
async def test_an_unknown_version_of_a_subscribed_type_is_skipped_not_dead_lettered(
    notifier: Notifier,
    mailer: RecordingMailer,
    caplog: pytest.LogCaptureFixture,
    data: dict[str, Any],
) -> None:
    """OrderConfirmed v2 published beside v1 (a deliberate break, as docs/operations.md
    says): a reader of v1 acks it (returns) and mails from the v1 event instead."""
    caplog.set_level(logging.INFO)
    event = Event(type="OrderConfirmed", version=2, data=data)
    await notifier.handle(event)  # returns: the consumer acks, no dead letter
    assert mailer.sent == []
    assert warnings_logged(caplog) == []
    [skipped] = [
        dict(r.msg) for r in caplog.records if r.levelno == logging.INFO and isinstance(r.msg, dict)
    ]
    assert skipped["event"] == "event skipped: a version we do not read"
    assert (skipped["event_id"], skipped["event_version"]) == (str(event.id), 2)
    assert skipped["reads"] == [1]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"order_id": "x"},
        {"unexpected": "shape", "lines": "none"},
    ],
)
async def test_malformed_data_is_dead_lettered_with_a_warning_naming_the_fields(
    notifier: Notifier,
    mailer: RecordingMailer,
    caplog: pytest.LogCaptureFixture,
    data: dict[str, Any],
) -> None:
    with pytest.raises(PermanentFailure, match="malformed data: order_id: "):
        await notifier.handle(Event(type="OrderConfirmed", version=1, data=data))
    assert mailer.sent == []
    [warning] = warnings_logged(caplog)
    assert warning["event"] == "event not handled: malformed data"
    assert any(error.startswith("order_id: ") for error in warning["errors"])


async def test_the_warning_does_not_repeat_the_shopper_s_address(
    notifier: Notifier,
    mailer: RecordingMailer,
    order_data: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = order_data(email="ada.lovelace@example.com", total={"amount": 1.5, "currency": "EUR"})
    with pytest.raises(PermanentFailure) as failure:
        await notifier.handle(Event(type="OrderConfirmed", version=1, data=data))
    assert "ada.lovelace" not in str(failure.value)  # the reason is kept with the letter
    assert mailer.sent == []
    [warning] = warnings_logged(caplog)
    assert any(error.startswith("total.amount: ") for error in warning["errors"])
    assert "ada.lovelace" not in caplog.text


@pytest.mark.parametrize("data", [None, [], "text", 42])
async def test_data_that_is_no_object_is_dead_lettered(
    notifier: Notifier, mailer: RecordingMailer, caplog: pytest.LogCaptureFixture, data: Any
) -> None:
    with pytest.raises(PermanentFailure):
        await notifier.handle(LooseEvent(uuid.uuid4(), "OrderConfirmed", 1, data))
    assert mailer.sent == []
    assert len(warnings_logged(caplog)) == 1


async def test_an_id_that_is_no_uuid_is_dead_lettered(
    notifier: Notifier,
    mailer: RecordingMailer,
    order_data: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(PermanentFailure):
        await notifier.handle(LooseEvent("order-1", "OrderConfirmed", 1, order_data()))
    assert mailer.sent == []
    [warning] = warnings_logged(caplog)
    assert warning["event"] == "event not handled: its id is not a UUID"
