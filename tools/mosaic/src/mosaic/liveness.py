"""Watching a ready process for as long as it runs: its liveness probe, and its readiness.

Why the runner restarts a silent process rather than routing around it: its replicas share
their port by SO_REUSEPORT, so the kernel, not the runner, hands out connections, and a
SIGSTOPped or wedged replica keeps its share of them forever (they wait in its accept queue).
Only closing its socket takes it out of rotation; killing it does that, and its restart
brings the replica back, as a Kubernetes liveness probe would. The numbers are
mosaic.probes'; the kill and the restart are mosaic.supervisor's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mosaic.probes import Probe

Check = Callable[[], Awaitable[bool]]  # True: it answered 200 in time


@dataclass
class Misses:
    """One probe's consecutive failures, and when the first of them was sent."""

    probe: Probe
    count: int = 0
    since: float | None = None

    def record(self, ok: bool | None, sent_at: float) -> bool:
        """Count one answer; True once `probe.failures` have failed in a row. None (the
        runner itself was late, see `answered`) counts neither way."""
        if ok is None:
            return False
        if ok:
            self.count, self.since = 0, None
            return False
        if self.since is None:
            self.since = sent_at
        self.count += 1
        return self.count >= self.probe.failures


# How much later than its timeout a probe may end before the lateness is the runner's own:
# its event loop did not turn (a burst of work, starved of CPU), so the timer fired late and
# the answer, perhaps waiting in the socket, was never read. Such a probe says nothing about
# the process, and killing it for the runner's delay would be wrong.
RUNNER_LATE_SECONDS = 1.0
CANCEL_AGAIN_SECONDS = 0.5


async def answered(
    check: Check, timeout: float, clock: Callable[[], float] = time.monotonic
) -> bool | None:
    """True: it answered in time; False: it did not; None: the runner was too late itself
    to tell (the timeout fired RUNNER_LATE_SECONDS or more after it was due)."""
    began = clock()
    try:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that comes as the check completes (CPython gh-86296), and a probe that outlives
        # its cancellation keeps the runner from stopping (seen: `mosaic up` stuck on
        # SIGTERM after a process had just been restarted).
        async with asyncio.timeout(timeout):
            return await check()
    except TimeoutError:
        return None if clock() - began >= timeout + RUNNER_LATE_SECONDS else False


async def until_silent(
    alive: Check, liveness: Probe, clock: Callable[[], float] = time.monotonic
) -> float:
    """Probe every `liveness.period` until `liveness.failures` probes in a row fail; return
    for how many seconds it has not answered (from the first of them)."""
    misses = Misses(liveness)
    while True:
        sent = clock()
        if misses.record(await answered(alive, liveness.timeout), sent):
            assert misses.since is not None
            return clock() - misses.since
        await asyncio.sleep(max(0.0, liveness.period - (clock() - sent)))


async def follow_readiness(
    ready: Check,
    readiness: Probe,
    changed: Callable[[bool], None],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Probe forever; `changed(False)` after `readiness.failures` failures in a row,
    `changed(True)` at the next success (Kubernetes' defaults: one success is enough)."""
    misses, now_ready = Misses(readiness), True
    while True:
        sent = clock()
        ok = await answered(ready, readiness.timeout)
        failing = misses.record(ok, sent)
        if ok is not None and ok != now_ready and (ok or failing):
            now_ready = ok
            changed(ok)
        await asyncio.sleep(max(0.0, readiness.period - (clock() - sent)))


async def watch(
    alive: Check,
    ready: Check,
    liveness: Probe | None,
    readiness: Probe,
    changed: Callable[[bool], None],
) -> float:
    """Follow readiness and probe liveness until the process falls silent; return how long it
    has been (liveness None: follow readiness until cancelled)."""
    following = asyncio.create_task(follow_readiness(ready, readiness, changed))
    try:
        if liveness is None:
            await following  # runs until the process ends and this is cancelled
            return 0.0
        return await until_silent(alive, liveness)
    finally:
        await cancelled(following)


async def cancelled(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has ended, cancelling it again if it let a
    cancellation pass (a library that catches CancelledError): a probe task that never
    ends would keep `stop()` waiting for ever."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_AGAIN_SECONDS)
    if not task.cancelled():
        task.exception()  # retrieved: a probe's own error is no reason to fail the stop
