"""The dashboard's scraper: every process's ops port `/metrics`, every `SCRAPE_EVERY`
seconds, the processes taken from the runner's table (the same list its Prometheus target
file is written from). A few recent scrapes are kept so rates span `WINDOW` scrapes: steady
enough to read, recent enough to see a checkout move the graph.

It scrapes only while someone looks (a page or a poll in the last `IDLE_AFTER` seconds):
every scrape costs each process a `/metrics` rendering, which `mosaic bench` and a
quiet shop should not pay for a dashboard nobody has open.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp

from mosaic.dashboard_metrics import Samples, Scrape, parse_samples
from mosaic.prometheus_targets import targets

SCRAPE_EVERY = 2.0  # seconds, as the page polls
WINDOW = 5  # scrapes kept: rates over the last ~10 s
TIMEOUT = 1.5  # seconds for one target; a slow process is left out of that scrape
IDLE_AFTER = 30.0  # seconds without a look before scraping stops

Processes = Callable[[], list[dict[str, Any]]]


class Scraper:
    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        self.scrapes: deque[Scrape] = deque(maxlen=WINDOW)
        self._looked_at = float("-inf")  # nobody yet
        self._looked = asyncio.Event()

    def watched(self) -> None:
        """Someone looks at the dashboard: scrape (again) for the next `IDLE_AFTER` s."""
        self._looked_at = time.monotonic()
        self._looked.set()

    def window(self) -> tuple[Scrape, Scrape] | None:
        """The oldest and the latest scrape kept; None until there are two."""
        if len(self.scrapes) < 2:
            return None
        return self.scrapes[0], self.scrapes[-1]

    async def scrape_once(self, session: aiohttp.ClientSession) -> Scrape:
        addresses = [group["targets"][0] for group in targets(self.processes())]
        read = await asyncio.gather(*(_read(session, a) for a in addresses))
        scrape = Scrape(time.monotonic(), {a: s for a, s in zip(addresses, read, strict=True) if s})
        self.scrapes.append(scrape)
        return scrape

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if time.monotonic() - self._looked_at > IDLE_AFTER:
                    self._looked.clear()
                    await self._looked.wait()
                    self.scrapes.clear()  # an old window would make a rate over the idle gap
                began = time.monotonic()
                await self.scrape_once(session)
                await asyncio.sleep(max(0.0, SCRAPE_EVERY - (time.monotonic() - began)))


async def _read(session: aiohttp.ClientSession, address: str) -> Samples:
    try:
        async with session.get(f"http://{address}/metrics") as answer:
            if answer.status != 200:
                return {}
            return parse_samples(await answer.text())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return {}  # starting, restarting or gone: shown by its state, not here
