"""The ops port: liveness and readiness probes, apart from the API so probes need no credentials.

/healthz: the process is alive and its event loop turns.
/readyz:  the service has started, is not draining, and its own backing services answer.
/metrics: the process's Prometheus metrics (`chassis.metrics`), for whoever scrapes the
          ops port (never on the API port: it is not the shoppers' business).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chassis import metrics
from chassis.resources import Resources

if TYPE_CHECKING:
    from chassis.settings import ServiceSettings

# uvicorn's default believes X-Forwarded-For/-Proto from loopback peers and rewrites the
# scope's client and scheme before any app code runs: on a laptop (and behind a sidecar)
# every peer is loopback, so any caller could choose its address and defeat a per-address
# limit. No server the chassis starts rewrites anything; a service that sits behind a
# proxy decides itself which peers' forwarded headers count (the frontend's
# TRUSTED_PROXIES, none by default).
PROXY_HEADERS = False


@dataclass
class Lifecycle:
    """Shared between the API app and the ops app of one process."""

    started: bool = False
    draining: bool = False
    resources: Resources | None = None


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def create_ops_app(lifecycle: Lifecycle, *, service: str, version: str) -> Starlette:
    async def healthz(_: Request) -> Response:
        return _json({"status": "ok", "service": service, "version": version})

    async def readyz(_: Request) -> Response:
        if lifecycle.draining:
            return _json({"status": "draining"}, 503)
        if not lifecycle.started or lifecycle.resources is None:
            return _json({"status": "starting"}, 503)
        checks = await lifecycle.resources.check()
        ok = all(result == "ok" for result in checks.values())
        return _json({"status": "ready" if ok else "unready", "checks": checks}, 200 if ok else 503)

    async def metrics_text(_: Request) -> Response:
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_text),
        ]
    )


class QuietServer(uvicorn.Server):
    """uvicorn's server without its own signal handling: the process's main owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def ops_server(lifecycle: Lifecycle, settings: ServiceSettings) -> uvicorn.Server:
    """The server of the process's ops port (/healthz, /readyz, /metrics), here rather than
    in chassis.server so that a worker (a relay, a consumer) serves it without importing
    FastAPI, the API server and its TLS (chassis.worker)."""
    return QuietServer(
        uvicorn.Config(
            create_ops_app(lifecycle, service=settings.service_name, version=settings.version),
            host=settings.host,
            port=settings.ops_port,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=PROXY_HEADERS,
        )
    )
