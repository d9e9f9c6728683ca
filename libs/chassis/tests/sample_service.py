"""A tiny service on the chassis, run as a real process by test_server.py."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from chassis import ServiceSettings, create_app, load_settings, serve
from fastapi import APIRouter, FastAPI, Request

router = APIRouter()


@router.get("/v1/slow")
async def slow(seconds: float = 1.0) -> dict[str, float]:
    if started := os.environ.get("SLOW_STARTED"):  # the test waits on this, not on a clock
        await asyncio.to_thread(Path(started).touch)
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@router.get("/v1/peer")
async def peer(request: Request) -> dict[str, str | None]:
    """Who the server says is calling, as the app's own code sees it."""
    return {"client": request.client.host if request.client else None, "scheme": request.url.scheme}


@router.post("/v1/notes")
async def add_note(note: dict[str, str]) -> dict[str, int]:
    """A body to refuse when it breaks a limit (test_server_limits.py)."""
    return {"fields": len(note)}


class GatedBackend:
    """A backing service that answers only once a file exists (stands in for a late database)."""

    name = "gated"

    def __init__(self, gate: Path) -> None:
        self.gate = gate

    async def open(self) -> None:
        pass

    async def ping(self) -> None:
        if not self.gate.exists():
            raise ConnectionRefusedError("backend not up yet")

    async def close(self) -> None:
        print("closed gated backend", flush=True)


def create() -> FastAPI:
    settings = load_settings(ServiceSettings)
    return create_app(
        settings, routers=[router], resources=[GatedBackend(Path(os.environ["GATE"]))]
    )


if __name__ == "__main__":
    serve(create)
