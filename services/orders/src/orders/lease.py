"""The lease's heartbeat: a driver renews its short lease while it works.

A saga's lease is short (LEASE_SECONDS, 5 s by default) and renewed every third of it while
its driver runs, so a process that dies (SIGKILL, a lost machine) lets go of its orders
within one lease: a re-post of the checkout or the recovery takes over seconds later, not
after the longest a saga may take. A driver that stops renewing (paused, partitioned) loses
the lease to the next one; its later saves are refused by the fencing (`Store.save` only
writes for the lease's holder), as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from chassis import get_logger

_log = get_logger("orders.lease")


class Renewable(Protocol):
    lease: float  # seconds

    async def renew_lease(self, order_id: str, holder: str) -> bool: ...


@contextlib.asynccontextmanager
async def heartbeat(store: Renewable, order_id: str, holder: str) -> AsyncIterator[None]:
    """Renew `holder`'s lease on the order every lease/3 seconds until the block ends."""
    beat = asyncio.create_task(_beat(store, order_id, holder, store.lease / 3))
    try:
        yield
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def _beat(store: Renewable, order_id: str, holder: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            held = await store.renew_lease(order_id, holder)
        except Exception as error:  # Postgres away: try again; the next save is fenced anyway
            _log.warning("lease not renewed", order_id=order_id, error=str(error))
            continue
        if not held:
            _log.warning("lease lost; heartbeat stopped", order_id=order_id)
            return
