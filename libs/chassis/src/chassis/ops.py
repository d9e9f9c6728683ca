"""The ops port: liveness and readiness probes, apart from the API so probes need no credentials.

/healthz: the process is alive and its event loop turns.
/readyz:  the service has started, is not draining, and its own backing services answer.
/metrics: the process's Prometheus metrics (`chassis.metrics`), for whoever scrapes the
          ops port (never on the API port: it is not the shoppers' business).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chassis import metrics
from chassis.resources import Resources


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
