"""The fault proxy (mosaic.chaos.proxy) with real sockets on 127.0.0.1: every fault kind,
switched on and off while connections are open, against an echo server behind it."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from mosaic.chaos.faults import NONE, make_fault
from mosaic.chaos.proxy import HopProxy

pytestmark = pytest.mark.timeout(60)
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Echo:
    """The callee: answers every read with the same bytes, and notes each read's size."""

    port: int = 0
    reads: list[int] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    self.reads.append(len(data))
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])


_opened: list[asyncio.StreamWriter] = []


@pytest.fixture
async def hop() -> AsyncIterator[tuple[HopProxy, Echo]]:
    echo = Echo()
    await echo.start()
    proxy = HopProxy("caller->echo", "127.0.0.1", echo.port)
    await proxy.start()
    yield proxy, echo
    await proxy.close()
    assert echo.server is not None
    echo.server.close()
    for writer in _opened:  # the callers' ends, whatever happened to them
        writer.close()
    _opened.clear()
    await asyncio.sleep(0.05)  # the closes run


async def connect(proxy: HopProxy) -> Streams:
    streams = await asyncio.open_connection("127.0.0.1", proxy.port)
    _opened.append(streams[1])
    return streams


async def round_trip(streams: Streams, payload: bytes, timeout: float = 10) -> bytes:
    reader, writer = streams
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(payload)), timeout)


async def test_without_a_fault_bytes_pass_unchanged(hop: tuple[HopProxy, Echo]) -> None:
    proxy, _ = hop
    payload = bytes(range(256)) * 4096  # 1 MiB, larger than any one read
    streams = await connect(proxy)
    assert await round_trip(streams, payload) == payload


async def test_latency_delays_each_answer_and_ends_with_for(hop: tuple[HopProxy, Echo]) -> None:
    proxy, _ = hop
    streams = await connect(proxy)
    await round_trip(streams, b"warm")
    ended: list[bool] = []
    slow = make_fault("latency", latency_ms=300, jitter_ms=50)
    proxy.set_fault(slow, 1.5, lambda: ended.append(True))
    began = time.monotonic()
    assert await round_trip(streams, b"slow") == b"slow"  # the open connection too
    assert time.monotonic() - began >= 0.25
    await asyncio.sleep(1.6)
    assert proxy.fault == NONE and ended == [True] and proxy.until is None
    began = time.monotonic()
    await round_trip(streams, b"fast")
    assert time.monotonic() - began < 0.25


async def test_reset_resets_open_and_new_connections(hop: tuple[HopProxy, Echo]) -> None:
    proxy, _ = hop
    open_one = await connect(proxy)
    await round_trip(open_one, b"hello")
    proxy.set_fault(make_fault("reset"))
    with pytest.raises(ConnectionResetError):
        await round_trip(open_one, b"again")
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await round_trip(await connect(proxy), b"new")
    proxy.set_fault(NONE)
    streams = await connect(proxy)
    assert await round_trip(streams, b"back") == b"back"


async def test_blackhole_accepts_and_never_answers(hop: tuple[HopProxy, Echo]) -> None:
    proxy, echo = hop
    open_one = await connect(proxy)
    await round_trip(open_one, b"hello")
    proxy.set_fault(make_fault("blackhole"))
    new_one = await connect(proxy)  # accepted...
    for streams in (open_one, new_one):
        with pytest.raises(TimeoutError):  # ...and never answered
            await round_trip(streams, b"anyone?", timeout=0.5)
    assert echo.reads == [5]  # nothing reached the callee
    proxy.set_fault(NONE)
    for reader, _ in (open_one, new_one):  # their streams are broken: closed
        assert await asyncio.wait_for(reader.read(), 5) == b""
    streams = await connect(proxy)
    assert await round_trip(streams, b"back") == b"back"


async def test_bandwidth_limits_bytes_per_second(hop: tuple[HopProxy, Echo]) -> None:
    proxy, _ = hop
    proxy.set_fault(make_fault("bandwidth", rate=20_000))
    streams = await connect(proxy)
    payload = b"x" * 10_000
    began = time.monotonic()
    assert await round_trip(streams, payload) == payload
    assert time.monotonic() - began >= 0.45  # 10 kB at 20 kB/s (the echo runs alongside)


async def test_partial_writes_split_every_chunk(hop: tuple[HopProxy, Echo]) -> None:
    proxy, echo = hop
    streams = await connect(proxy)
    payload = bytes(range(200))
    assert await round_trip(streams, payload) == payload
    assert echo.reads == [200]  # one write, one read
    proxy.set_fault(make_fault("partial", piece_bytes=5))
    echo.reads.clear()
    assert await round_trip(streams, payload) == payload  # intact, in pieces
    assert len(echo.reads) > 1 and max(echo.reads) < 200


async def test_a_callee_that_is_down_looks_refused(hop: tuple[HopProxy, Echo]) -> None:
    proxy, echo = hop
    assert echo.server is not None
    echo.server.close()
    await echo.server.wait_closed()
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await round_trip(await connect(proxy), b"anyone?")


async def test_close_ends_every_connection(hop: tuple[HopProxy, Echo]) -> None:
    proxy, _ = hop
    streams = [await connect(proxy) for _ in range(3)]
    for one in streams:
        await round_trip(one, b"hi")
    assert proxy.open_connections == 3
    await proxy.close()
    for reader, _ in streams:
        with pytest.raises(ConnectionResetError):
            assert await asyncio.wait_for(reader.read(), 5) == b""
            raise ConnectionResetError  # a clean EOF is an end too
