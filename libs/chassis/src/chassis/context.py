"""Per-request context that travels with a call: request id and deadline.

Held in contextvars so the HTTP client can propagate it without being handed it. The
trace travels in OpenTelemetry's own context (`chassis.tracing`).
"""

from __future__ import annotations

import secrets
import time
from contextvars import ContextVar

DEADLINE_HEADER = "x-deadline"
REQUEST_ID_HEADER = "x-request-id"


request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# Absolute deadline, epoch seconds (float), for the whole request chain.
deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def parse_deadline(header: str | None) -> float | None:
    """`x-deadline` is absolute epoch milliseconds; None if absent or not a number."""
    if not header:
        return None
    try:
        value = int(header)
    except ValueError:
        return None
    return value / 1000 if value > 0 else None


def remaining_seconds() -> float | None:
    """Time left before the current deadline (may be negative), or None without one."""
    current = deadline.get()
    return None if current is None else current - time.time()


def new_request_id() -> str:
    return secrets.token_hex(8)
