"""The dev mailbox's and the dashboard's port: the one asked for, else the default, else any."""

import asyncio
import socket
from collections.abc import Iterator

import pytest
from mosaic.errors import MosaicError
from mosaic.ports import free_port
from mosaic.stack import _on_preferred_port


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


async def _listen(port: int) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    return server, server.sockets[0].getsockname()[1]


async def _port_of(wanted: int | None, default: int) -> int:
    server, port = await _on_preferred_port(_listen, wanted, default, "the page", "--page-port")
    server.close()
    await server.wait_closed()
    return port


async def test_the_default_when_free_else_any(taken: int) -> None:
    default = free_port()
    assert await _port_of(None, default) == default
    anywhere = await _port_of(None, taken)
    assert anywhere not in (0, taken)


async def test_a_port_asked_for_and_taken_is_an_error(taken: int) -> None:
    wanted = free_port()
    assert await _port_of(wanted, taken) == wanted
    with pytest.raises(MosaicError, match=f"port {taken} for the page is already in use"):
        await _port_of(taken, free_port())
