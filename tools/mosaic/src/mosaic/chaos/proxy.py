"""A TCP proxy for one hop (caller -> callee), with the fault of the moment applied to
every chunk it forwards (mosaic.chaos.faults).

Our own, about two hundred lines on asyncio streams: no maintained Python proxy installs
here with faults switched at run time (docs/architecture.md, "Fault injection"). It works
below TLS: the hops are mTLS, so it forwards bytes and never looks into them. With no
fault on, a chunk goes straight from one socket to the other; only while a fault is on (or
bytes it held are still queued) does a chunk go through the direction's queue, which a
writer task empties at each chunk's release time.
"""

import asyncio
import contextlib
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mosaic.chaos.faults import NONE, Fault

CHUNK = 64 * 1024
QUEUED_CHUNKS = 64  # per direction: a slow fault holds back the sender, not our memory
_random = random.Random()  # noqa: S311 - jitter and a reset's dice, not secrets


@dataclass(eq=False)
class _Direction:
    """One way of one connection: bytes read from `source`, written to `sink`."""

    source: asyncio.StreamReader
    sink: asyncio.StreamWriter
    answers: bool  # callee -> caller: the way latency applies
    queue: asyncio.Queue[tuple[float, bytes | None]] = field(
        default_factory=lambda: asyncio.Queue(QUEUED_CHUNKS)
    )
    writer: asyncio.Task[None] | None = None
    last_release: float = 0.0


@dataclass(eq=False)
class _Connection:
    caller: asyncio.StreamWriter
    callee: asyncio.StreamWriter | None = None
    swallowed: bool = False  # a blackhole ate some of its bytes: its stream is broken
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self, reset: bool = False) -> None:
        for writer in (self.caller, self.callee):
            if writer is not None:
                if reset:
                    _linger_zero(writer)
                writer.transport.abort()


class HopProxy:
    """Listens on 127.0.0.1 (a free port, or `port`) and forwards to target_host:port."""

    def __init__(self, name: str, target_host: str, target_port: int) -> None:
        self.name = name
        self.target = (target_host, target_port)
        self.fault = NONE
        self.until: float | None = None  # wall-clock end of a fault set `--for` seconds
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", port, limit=CHUNK, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.abort()
        tasks = [t for c in self._connections for t in c.tasks]
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def set_fault(
        self, fault: Fault, seconds: float | None = None, ended: Callable[[], None] = lambda: None
    ) -> None:
        """Switch to `fault` now (for `seconds`, then back to none, calling `ended`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        was, self.fault = self.fault, fault
        self.until = None if seconds is None else time.time() + seconds
        if seconds is not None:
            loop = asyncio.get_running_loop()

            def end() -> None:
                self._timer = None
                self.set_fault(NONE)
                ended()

            self._timer = loop.call_later(seconds, end)
        if fault.kind == "reset":
            for connection in list(self._connections):
                if _random.random() < fault.probability:
                    connection.abort(reset=True)
        if was.kind == "blackhole" and fault.kind != "blackhole":
            for connection in [c for c in self._connections if c.swallowed]:
                connection.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        connection = _Connection(writer)
        fault = self.fault
        if fault.kind == "reset" and _random.random() < fault.probability:
            connection.abort(reset=True)
            return
        self._connections.add(connection)
        try:
            if fault.kind == "blackhole":  # never even reaches the callee
                connection.swallowed = True
                with contextlib.suppress(ConnectionError):
                    while await reader.read(CHUNK):
                        pass
                return
            _no_delay(writer)
            try:
                upstream, connection.callee = await asyncio.open_connection(
                    *self.target, limit=CHUNK
                )
            except OSError:
                connection.abort(reset=True)  # as the callee itself would look: refused
                return
            _no_delay(connection.callee)
            ways = [
                _Direction(reader, connection.callee, answers=False),
                _Direction(upstream, writer, answers=True),
            ]
            connection.tasks = [asyncio.create_task(self._pump(connection, way)) for way in ways]
            await asyncio.gather(*connection.tasks, return_exceptions=True)
        finally:
            self._connections.discard(connection)
            connection.abort()

    async def _pump(self, connection: _Connection, way: _Direction) -> None:
        try:
            while data := await way.source.read(CHUNK):
                fault = self.fault
                if fault.kind == "blackhole":
                    connection.swallowed = True
                    continue
                if fault.kind == "none" and way.writer is None:
                    way.sink.write(data)
                    await way.sink.drain()
                    continue
                if way.writer is None:
                    way.writer = asyncio.create_task(self._write_queued(way))
                await way.queue.put((self._release_time(fault, way), data))
            if (writer := way.writer) is not None:
                await way.queue.put((0.0, None))
                await writer
            elif way.sink.can_write_eof():
                way.sink.write_eof()
        except (ConnectionError, OSError):
            connection.abort()
        finally:
            if way.writer is not None and not way.writer.done():
                way.writer.cancel()

    def _release_time(self, fault: Fault, way: _Direction) -> float:
        now = time.monotonic()
        if fault.kind != "latency" or not way.answers:
            return now
        jitter = _random.uniform(-fault.jitter_ms, fault.jitter_ms) if fault.jitter_ms else 0
        delay = max(0.0, fault.latency_ms + jitter) / 1000
        way.last_release = max(way.last_release, now + delay)  # order is kept
        return way.last_release

    async def _write_queued(self, way: _Direction) -> None:
        """Write what the pump queued, each chunk at its release time, as the fault of the
        moment says (bandwidth and partial writes apply here)."""
        while True:
            release, data = await way.queue.get()
            if data is None:
                if way.sink.can_write_eof():
                    way.sink.write_eof()
                return
            if (wait := release - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            fault = self.fault
            if fault.kind == "bandwidth":
                piece = max(1, fault.rate // 20)  # 20 writes a second at most: smooth enough
                for start in range(0, len(data), piece):
                    chunk = data[start : start + piece]
                    way.sink.write(chunk)
                    await way.sink.drain()
                    await asyncio.sleep(len(chunk) / fault.rate)
            elif fault.kind == "partial":
                for start in range(0, len(data), fault.piece_bytes):
                    way.sink.write(data[start : start + fault.piece_bytes])
                    await way.sink.drain()
                    await asyncio.sleep(0)  # each piece its own send (TCP_NODELAY is on)
            else:
                way.sink.write(data)
                await way.sink.drain()
            if way.queue.empty() and self.fault.kind == "none":
                way.writer = None  # back to the direct path
                return


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _linger_zero(writer: asyncio.StreamWriter) -> None:
    """Closing now then sends RST instead of FIN: what a reset looks like on the wire."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
