"""The crash-point test hook: MOSAIC_TEST_CRASH_AFTER=<step> makes the process SIGKILL
itself right after that saga step is persisted, as a power cut would. Read once, at start;
unset (always, outside tests) it has no effect."""

from __future__ import annotations

import os
import signal

from chassis import get_logger

from orders.saga import Crash, no_crash

_log = get_logger("orders.crash")


def crash_hook(after: str | None) -> Crash:
    if not after:
        return no_crash

    def crash(point: str) -> None:
        if point == after:
            _log.warning("test hook: crashing", after=point)
            os.kill(os.getpid(), signal.SIGKILL)

    return crash
