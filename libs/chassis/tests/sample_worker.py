"""A tiny worker on the chassis, run as a real process by test_worker.py: it consumes
STREAM and appends each event's id to the file OUT."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from chassis import ServiceSettings, load_settings
from chassis.events import BrokerSettings, Consumer, Event
from chassis.worker import Worker, serve_worker


class Settings(ServiceSettings, BrokerSettings):
    pass


def create() -> Worker:
    settings = load_settings(Settings)
    out = Path(os.environ["OUT"])

    def append(line: str) -> None:
        with out.open("a") as file:
            file.write(line)

    async def record(event: Event) -> None:
        await asyncio.to_thread(append, f"{event.id}\n")

    consumer = Consumer(
        settings.broker_url, os.environ["STREAM"], "sample", "sample-1", record, block_seconds=0.2
    )
    return Worker(settings, loops=[consumer], resources=[consumer])


if __name__ == "__main__":
    serve_worker(create)
