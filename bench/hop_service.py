"""The callee of bench/hop.py: one tiny service on the real chassis, in one transport mode.

Run by hop.py, never by hand: `python bench/hop_service.py plain|token|tls|mtls`, with the
service's settings (PORT, OPS_PORT, TLS_* files, SERVICE_TRUST_DIR, ...) in the environment.

- plain: `chassis.serve` with EDGE=true, TRANSPORT_SECURITY=mesh; no caller check.
- token: `chassis.serve`, TRANSPORT_SECURITY=mesh (no TLS, as behind a service mesh);
  the route checks the service token against `callers("bench")`.
- tls:   the same app as plain, served by uvicorn directly with a TLS 1.3 server context that
  asks for no client certificate. The chassis has no such mode (a service port is plain or
  mTLS), so this baseline is the one place that bypasses `chassis.serve`.
- mtls:  the production path: `chassis.serve` with TRANSPORT_SECURITY=mtls (TLS 1.3, client
  certificate required) and the route checking the token against `callers("bench")`.
"""

from __future__ import annotations

import ssl
import sys

import orjson
import uvicorn
from chassis import ServiceSettings, callers, configure_logging, create_app, load_settings, serve
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

MODES = ("plain", "token", "tls", "mtls")
PATH = "/v1/hop"
BODY = orjson.dumps({"hop": "ok", "items": [1, 2, 3]})


async def hop() -> Response:
    return Response(BODY, media_type="application/json")


def hop_app(*, checked: bool) -> FastAPI:
    """The service: one route returning a small JSON body, checked or not."""
    router = APIRouter()
    router.add_api_route(
        PATH, hop, methods=["GET"], dependencies=[callers("bench")] if checked else []
    )
    return create_app(load_settings(ServiceSettings), routers=[router])


def serve_tls_only(app: FastAPI) -> None:
    """uvicorn as `chassis.serve` configures it, with server-side TLS and no client certificate."""
    settings: ServiceSettings = app.state.settings
    configure_logging(
        service=settings.service_name,
        version=settings.version,
        log_format=settings.log_format,
        level=settings.log_level,
    )
    assert settings.tls_cert_file and settings.tls_key_file, "TLS_CERT_FILE and TLS_KEY_FILE"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(str(settings.tls_cert_file), str(settings.tls_key_file))
    context.set_alpn_protocols(["http/1.1"])
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ssl_context_factory=lambda _config, _default: context,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_keep_alive=30,
        server_header=False,
    )
    uvicorn.Server(config).run()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) == 2 else ""
    if mode not in MODES:
        sys.exit(f"usage: hop_service.py {'|'.join(MODES)}")
    if mode == "tls":
        serve_tls_only(hop_app(checked=False))
    else:
        serve(lambda: hop_app(checked=mode in {"token", "mtls"}))


if __name__ == "__main__":
    main()
