"""Running a service process: the API port, the ops port, and a graceful SIGTERM.

On SIGTERM (or Ctrl-C) the process: reports not-ready at once, stops accepting, lets
in-flight requests finish within the grace period, closes its pools, and exits 0.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import contextlib
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, cast

import uvicorn
from fastapi import FastAPI

from chassis.admission import Gate
from chassis.logs import configure_logging_from, get_logger
from chassis.ops import PROXY_HEADERS, Lifecycle, QuietServer
from chassis.ops import ops_server as ops_server  # where it was; a worker imports chassis.ops
from chassis.security import Credentials
from chassis.server_limits import BoundedHttpProtocol, HeadLimits, bounded_protocol
from chassis.settings import ServiceSettings
from chassis.tls import peer_identity
from chassis.tracing import configure_tracing

_log = get_logger("chassis.server")


class _IdentityProtocol(BoundedHttpProtocol):
    """uvicorn's HTTP protocol, bounded (`server_limits`), plus the client's verified identity.

    uvicorn does not put TLS details into the scope; the ASGI TLS extension
    (`scope["extensions"]["tls"]`) is where an app expects them. The identity is read once
    per connection, at the handshake, not per request.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._tls = {"client_identity": peer_identity(transport.get_extra_info("ssl_object"))}

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"tls": self._tls}  # type: ignore[dict-item]


class _AlertingTLS(asyncio.sslproto.SSLProtocol):
    """asyncio's TLS layer, except that a refused handshake tells the client why.

    When OpenSSL refuses a handshake (no client certificate, an unknown CA, an expired
    certificate) it prepares the TLS alert that says so; asyncio's and uvloop's TLS layers
    then close the connection without writing it, and the client sees the connection drop,
    as it would for a crash or a network fault. Writing it first costs nothing on the
    happy path and lets a caller (and a test) tell a refusal from an outage.
    """

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        if handshake_exc is not None and self._transport is not None:
            self._process_outgoing()  # type: ignore[attr-defined]  # the alert, if any
        super()._on_handshake_complete(handshake_exc)


def _tls_protocol(
    context: ssl.SSLContext, limits: HeadLimits, gate: Gate | None
) -> Callable[..., asyncio.BaseProtocol]:
    """uvicorn's `http` protocol factory for a TLS port: our HTTP protocol behind our TLS
    layer (uvicorn would put its event loop's own in between, which drops the alerts)."""
    http_protocol = bounded_protocol(limits, _IdentityProtocol, gate)

    def protocol(**options: Any) -> asyncio.BaseProtocol:
        loop = asyncio.get_running_loop()
        http = http_protocol(**options)
        return _AlertingTLS(loop, http, context, None, server_side=True)  # type: ignore[arg-type]

    return protocol


def serve(factory: Callable[[], FastAPI]) -> NoReturn:
    """Run the app built by `factory` until SIGTERM; never returns.

    `factory` loads the settings first, so a bad setting stops the process with one line
    before anything starts.
    """
    app = factory()
    settings: ServiceSettings = app.state.settings
    settings.api_port()  # before anything starts: a web process without PORT stops here
    configure_logging_from(settings)
    configure_tracing(settings.service_name, os.environ.get("MOSAIC_PROCESS", "web"))
    sys.exit(0 if run_event_loop(_serve(app, settings)) else 1)


def run_event_loop(main: Coroutine[Any, Any, bool]) -> bool:
    """Run a process's main coroutine on uvloop (plain asyncio if uvloop is missing)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of the chassis
        return asyncio.run(main)
    return uvloop.run(main)


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT: replicas share one port and the kernel
    spreads connections over them, as kube-proxy spreads them over a Service's pods."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def api_server(
    app: Any, settings: ServiceSettings, credentials: Credentials, gate: Gate | None = None
) -> uvicorn.Server:
    """The server of the API port: mTLS with the client's identity in the scope unless the
    service is the edge or behind a mesh. The app's lifespan is left to the caller, so the
    port opens only once its resources answer. `app` is the ASGI app (maybe wrapped);
    `gate` its admission control's (by default the app's own, `app.state.admission`), for
    the protocol's early refusal."""
    if gate is None:
        gate = getattr(getattr(app, "state", None), "admission", None)
    tls = api_tls(settings, credentials)
    limits = head_limits(settings)
    http = (
        _tls_protocol(tls, limits, gate)
        if tls
        else bounded_protocol(limits, BoundedHttpProtocol, gate)
    )
    return QuietServer(
        uvicorn.Config(
            app,
            http=cast(Any, http),
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            timeout_keep_alive=30,
            server_header=False,
            proxy_headers=PROXY_HEADERS,
        )
    )


def head_limits(settings: ServiceSettings) -> HeadLimits:
    return HeadLimits(
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )


def api_tls(settings: ServiceSettings, credentials: Credentials) -> ssl.SSLContext | None:
    if not settings.edge and settings.transport_security == "mtls" and credentials.tls:
        return credentials.tls.server  # reloaded in place when the certificate is rotated
    return None


async def _serve(app: FastAPI, settings: ServiceSettings) -> bool:
    lifecycle: Lifecycle = app.state.lifecycle
    ops = ops_server(lifecycle, settings)
    credentials: Credentials = app.state.credentials
    tls = api_tls(settings, credentials)
    api = api_server(app, settings, credentials)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            api.force_exit = True
            return
        _log.info("shutting down", signal=signal.Signals(signum).name)
        lifecycle.draining = True
        api.should_exit = True
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    ops_task = asyncio.create_task(ops.serve())
    served = False
    try:
        startup = asyncio.create_task(enter_lifespan(app))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({startup, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not startup.done():
            startup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await startup
            return True  # stopped while still starting: a clean exit
        lifespan = startup.result()
        if lifespan is None:
            return False
        stopped.cancel()
        try:
            sock = listening_socket(settings.host, settings.api_port())
        except OSError as error:
            _log.error("cannot listen", host=settings.host, port=settings.port, error=str(error))
            await lifespan.aclose()
            return False
        _log.info(
            "serving",
            host=settings.host,
            port=settings.port,
            ops_port=settings.ops_port,
            transport="mtls" if tls else "plain",
        )
        await api.serve(sockets=[sock])
        served = True
        await lifespan.aclose()
        _log.info("stopped")
    finally:
        ops.should_exit = True
        await ops_task
    return served


async def enter_lifespan(app: FastAPI) -> contextlib.AsyncExitStack | None:
    """Start the app's lifespan (resources up); None when that fails."""
    stack = contextlib.AsyncExitStack()
    try:
        await stack.enter_async_context(app.router.lifespan_context(app))
    except Exception as error:
        _log.error("startup failed", error=f"{type(error).__name__}: {error}")
        await stack.aclose()
        return None
    return stack
