"""The control channel of a running `mosaic up`: how `mosaic upgrade` asks the runner, which
owns every process, to release a build, start a replica of it, or retire one.

A unix socket, `$MOSAIC_HOME/run/control/up.sock`, in a folder only the runner's user may
enter (0700): the file permissions are the authentication, as for the home's passwords and
keys. One request per connection: a JSON line `{"op": ..., ...}` in, a JSON line out,
`{"ok": true, "result": ...}` or `{"ok": false, "error": ..., "hint": ..., "output": ...}`
(a MosaicError's parts, so the caller prints what the runner would have). A request may
take long (a replica's start waits for its readiness); the answer comes when it is done.
"""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mosaic.errors import MosaicError
from mosaic.state import run_dir

LINE_LIMIT = 1 << 20
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def socket_path(home: Path) -> Path:
    return run_dir(home) / "control" / "up.sock"


async def serve_control(home: Path, handle: Handler) -> asyncio.Server:
    """Listen on the home's control socket; `handle` answers each request (its result is
    sent back; a MosaicError it raises goes back as one)."""
    path = socket_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)  # before the socket exists: nobody else can reach it
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by an `up` that was killed (the up.lock is ours now)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            reply = await _reply(await reader.readline(), handle)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the caller went away; what it asked for is done or stopped by itself
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_unix_server(answer, path, limit=LINE_LIMIT)


async def _reply(line: bytes, handle: Handler) -> dict[str, Any]:
    try:
        request = json.loads(line)
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            raise ValueError("expected a JSON object with an op")
    except ValueError as error:
        return {"ok": False, "error": f"bad request: {error}"}
    try:
        return {"ok": True, "result": await handle(request)}
    except MosaicError as error:
        return {"ok": False, "error": error.message, "hint": error.hint, "output": error.output}


async def call(home: Path, op: str, **arguments: Any) -> Any:
    """Ask the runner of `home`; its answer's result, or its error raised here."""
    path = socket_path(home)
    try:
        reader, writer = await asyncio.open_unix_connection(path, limit=LINE_LIMIT)
    except (FileNotFoundError, ConnectionRefusedError):
        raise MosaicError(
            f"the mosaic up on {home} has no control channel ({path})",
            "Is it running, and started by this version of mosaic? `mosaic status` says.",
        ) from None
    except PermissionError:
        raise MosaicError(
            f"not allowed to reach the mosaic up on {home}",
            f"Run this as the user that runs it (uid {path.parent.stat().st_uid}).",
        ) from None
    try:
        writer.write(json.dumps({"op": op, **arguments}).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    if not line:
        raise MosaicError(
            f"the mosaic up on {home} stopped before answering {op!r}",
            "Its output says why; `mosaic status` shows what runs now.",
        )
    reply = json.loads(line)
    if not reply.get("ok"):
        error = str(reply.get("error") or f"{op!r} failed")
        raise MosaicError(error, reply.get("hint") or "", output=reply.get("output") or "")
    return reply.get("result")
