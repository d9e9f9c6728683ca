"""Take docs/dashboard.png: the runner's dashboard of a shop under a short load.

Run: .venv/bin/python bench/dashboard_screenshot.py [--out docs/dashboard.png] [--orders 6]
Starts `mosaic up` on a temporary home and free ports (never the default ones), places a
few orders through the frontend while browsing, waits until the page's own polling shows a
call with a rate above zero, and screenshots the page in Debian's Chromium (the browser
tests' launcher and flags). The shop is stopped at the end.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx
from mosaic.chromium import HEADLESS_ARGS, chromium_path, is_executable
from mosaic.ports import free_port
from mosaic_testing import Shopper, UpProcess, wait_until
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]


def moving(page: Page) -> bool:
    rates = page.locator("g.edge.call").evaluate_all(
        "edges => edges.map(e => Number(e.getAttribute('data-rate')))"
    )
    return any(rate > 0 for rate in rates)


def place_order(url: str) -> None:
    with Shopper(url) as shopper:
        shopper.add_to_cart(shopper.products()[0], 1)
        answer = shopper.place_order(shopper.checkout_form())
    if answer.status_code != 303:
        raise SystemExit(f"the order was refused ({answer.status_code}): is the shop healthy?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    parser.add_argument("--orders", type=int, default=6, help="orders placed (default 6)")
    options = parser.parse_args()
    path = chromium_path()
    if not is_executable(path):
        raise SystemExit(f"no Chromium at {path}: apt-get install chromium, or set MOSAIC_CHROMIUM")
    with tempfile.TemporaryDirectory() as folder:
        port, dashboard = free_port(), free_port()
        args = ("--dashboard-port", str(dashboard), "--mail-port", str(free_port()))
        with UpProcess(Path(folder) / "home", port, *args) as up, sync_playwright() as pw:
            url = up.wait_ready(timeout=180)
            browser = pw.chromium.launch(
                executable_path=path, headless=True, args=list(HEADLESS_ARGS)
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{dashboard}")
            for _ in range(options.orders):
                place_order(url)
                httpx.get(url, timeout=30)
            wait_until(lambda: moving(page), 30, "a call with a rate above 0 on the dashboard")
            page.screenshot(path=options.out, full_page=True)
            browser.close()
    print(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
