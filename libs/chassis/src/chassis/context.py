"""Per-request context that travels with a call: request id, trace, deadline.

Held in contextvars so the HTTP client can propagate it without being handed it.
"""

from __future__ import annotations

import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass

DEADLINE_HEADER = "x-deadline"
REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT_HEADER = "traceparent"


@dataclass(frozen=True, slots=True)
class Trace:
    """A W3C trace context (https://www.w3.org/TR/trace-context/): ids in lowercase hex."""

    trace_id: str
    span_id: str
    sampled: bool = True

    @classmethod
    def new(cls) -> Trace:
        return cls(secrets.token_hex(16), secrets.token_hex(8))

    @classmethod
    def parse(cls, header: str | None) -> Trace | None:
        """The caller's context, or None when the header is absent or malformed."""
        if not header:
            return None
        parts = header.strip().split("-")
        if len(parts) < 4 or parts[0] == "ff" or len(parts[0]) != 2:
            return None
        _, trace_id, span_id, flags = parts[:4]
        if not (_is_hex(trace_id, 32) and _is_hex(span_id, 16) and _is_hex(flags, 2)):
            return None
        if trace_id == "0" * 32 or span_id == "0" * 16:
            return None
        return cls(trace_id, span_id, bool(int(flags, 16) & 1))

    def child(self) -> Trace:
        """A new span in the same trace: what this process is doing for the caller."""
        return Trace(self.trace_id, secrets.token_hex(8), self.sampled)

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and all(c in "0123456789abcdef" for c in value)


request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
trace: ContextVar[Trace | None] = ContextVar("trace", default=None)
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
