"""The release phase: a service's one-off `release:` process, run to completion before its
other processes start (migrations, seed data)."""

import asyncio
from collections import deque
from pathlib import Path

from mosaic.children import Command, spawn, terminate
from mosaic.errors import MosaicError
from mosaic.logs import LINE_LIMIT, LogStream


async def run_release(service: str, command: Command, logs: LogStream) -> None:
    """Run it with its output streamed as `<service>.release`; raise if it fails."""
    name = f"{service}.release"
    tail: deque[str] = deque(maxlen=40)
    process = await spawn(command, LINE_LIMIT)
    assert process.stdout is not None
    pump = asyncio.create_task(logs.pump(name, process.stdout, tail))
    try:
        code = await process.wait()
        await pump
    except asyncio.CancelledError:  # `up` is stopping: stop the release too
        await asyncio.shield(terminate(process, command, command.grace_seconds))
        raise
    if code != 0:
        raise MosaicError(
            f"the release phase of {service} failed (exit code {code}); its last output:",
            f"Fix it (the `release:` line of {Path(command.cwd or '.') / 'Procfile'}), "
            "then run `mosaic up` again.",
            output="\n".join(tail) or "(no output)",
        )
