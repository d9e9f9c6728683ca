"""`mosaic up`: one stack per $MOSAIC_HOME, from start to a clean stop on Ctrl-C or SIGTERM."""

import asyncio
import signal

from mosaic.logs import LogStream
from mosaic.stack import Stack, UpOptions
from mosaic.state import UpLock, reap_leftovers

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def run_up(options: UpOptions, logs: LogStream) -> None:
    """Run until a stop signal; raise MosaicError when starting fails (after cleaning up)."""
    lock = UpLock(options.home)
    lock.acquire()
    try:
        if leftovers := reap_leftovers(options.home):
            logs.note(f"stopped processes an earlier run left behind: {', '.join(leftovers)}")
        await _run(Stack(options, logs), logs)
    finally:
        lock.release()


async def _run(stack: Stack, logs: LogStream) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if not stopping.is_set():
            logs.note(f"{sig.name}: stopping every process (once more to kill them at once)")
            stopping.set()
        else:
            logs.note(f"{sig.name} again: killing every process")
            stack.kill()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    starting = asyncio.create_task(stack.start())
    stop_requested = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({starting, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # raises if the start failed
            await stop_requested
        else:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    finally:
        stop_requested.cancel()
        await stack.stop()
        logs.note("stopped")
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)
