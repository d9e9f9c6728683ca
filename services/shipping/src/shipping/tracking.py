"""Tracking ids: `MOS` and 12 base32 characters (RFC 4648 alphabet) from the OS's CSPRNG.

60 random bits: not derived from the shipment id, the time or a counter, so one tracking
id says nothing about any other. The table's unique constraint backs the (negligible)
chance of a repeat: the insert fails rather than two shipments sharing an id.
"""

from __future__ import annotations

import base64
import secrets

PREFIX = "MOS"
PATTERN = r"^MOS[A-Z2-7]{12}$"


def new_tracking_id() -> str:
    # 8 random bytes encode to 13 base32 characters; the first 12 carry 60 random bits.
    return PREFIX + base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:12]
