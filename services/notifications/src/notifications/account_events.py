"""accounts' events as notifications reads them (`events:accounts`): the link that proves a
new address, and a note to an address's owner that someone tried to sign up with it.

accounts documents the events (services/accounts/events/*.json); this is our reading of
them, checked on arrival. The link's token arrives in the event and goes into the mail
only: never logged, never stored.
"""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

from notifications.order_events import _mail_address

_VERIFY_PATH = re.compile(r"^/verify-email/[A-Za-z0-9_-]{20,200}$")
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MailAddress = Annotated[str, AfterValidator(_mail_address)]


def _verify_path(value: str) -> str:
    """The shop's verification page with the token, never a URL to elsewhere."""
    if not _VERIFY_PATH.match(value):
        raise ValueError("expected /verify-email/<token>")
    return value


class VerificationV1(BaseModel):
    """`data` of AccountRegistered v1 and VerificationRequested v1."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UUID
    email: MailAddress
    display_name: Name
    # From accounts' release 1 of the name split on; the mails greet by it (an event written
    # before has none: greeted by display_name, which v1 always carries).
    given_name: Name | None = None
    verify_url: Annotated[str, AfterValidator(_verify_path)]
    expires_at: AwareDatetime


class AddressTakenV1(BaseModel):
    """`data` of SignUpWithTakenAddress v1."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UUID
    email: MailAddress
    display_name: Name
    given_name: Name | None = None  # as in VerificationV1
    attempted_at: AwareDatetime
