"""What the shop mails, read from the dev mailbox (`UpProcess.mail`)."""

import re
from collections.abc import Callable
from typing import Any

from mosaic_testing.waiting import wait_until

# notifications hands an event it took but did not acknowledge (its handler failed, or the
# ack was lost) to a consumer again once it has been pending RETRY_AFTER_SECONDS (30 s by
# default), looking every half of that. A test counting e-mails starts the shop with
# FAST_REDELIVERY and counts over REDELIVERY_WINDOW: any redelivered event has been handled
# again by then, so a duplicate e-mail it would send has arrived.
REDELIVERY_SECONDS = 2
FAST_REDELIVERY = {"RETRY_AFTER_SECONDS": str(REDELIVERY_SECONDS)}
REDELIVERY_WINDOW = 3 * REDELIVERY_SECONDS + 4  # pending + the next look + handling, sending
# The path of an address-verification link in a mail from notifications.
VERIFY_LINK = re.compile(r"https?://[^\s\"'<>]+?(/verify-email/[A-Za-z0-9_-]+)")
Mail = Callable[[], list[dict[str, Any]]]


def verification_link(mail: Mail, email: str, timeout: float = 60, *, after: str = "") -> str:
    """The path of the newest address-verification link mailed to `email` (waits for its
    mail; `after`: a link to skip, e.g. one used already). `mail`: `UpProcess.mail`."""
    found: list[str] = []

    def arrived() -> bool:
        for message in mail():  # newest first
            link = VERIFY_LINK.search(message.get("text") or "")
            if email in message["to"] and link and link[1] != after:
                found.append(link[1])
                return True
        return False

    wait_until(arrived, timeout, f"a verification link mailed to {email}")
    return found[0]
