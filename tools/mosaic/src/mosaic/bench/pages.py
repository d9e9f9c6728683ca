"""The pages phase: one page, 32 connections, closed loop, driven by wrk; Mosaic's product
page beside the floor page (bench/floor.py) in the same run.

The product page is asked for as a browser would after one visit: the cookies the home page
and a product page set (the cookie jar of one visit) go with every request. CPU per page is
the shop's (services, Postgres, Valkey) over wrk's run, from the same samples as every
other phase.
"""

import http.cookiejar
import re
import urllib.request
from typing import TYPE_CHECKING, Any

from mosaic.bench.options import FLOOR, Budget
from mosaic.bench.wrk import WrkRun, run_wrk
from mosaic.errors import MosaicError

if TYPE_CHECKING:
    from mosaic.bench.runner import ModeBench

PRODUCT_LINK = re.compile(r'href="(/product/[^"?#]+)"')
FLOOR_PATH = "/"


def page_request(base: str, mode: str) -> tuple[str, dict[str, str]]:
    """The URL the pages phase asks for, and its headers: the floor's page, or a product
    page of the shop with the cookies of one visit (home, then that product)."""
    if mode == FLOOR:
        return base + FLOOR_PATH, {}
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(base + "/", timeout=30) as home:
        links = PRODUCT_LINK.findall(home.read().decode(errors="replace"))
    if not links:
        raise MosaicError(f"the home page at {base}/ links to no product page")
    url = base + links[0]
    with browser.open(url, timeout=30) as product:
        product.read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    return url, {"Cookie": cookies} if cookies else {}


def measure_page(bench: "ModeBench", wrk: str, budget: Budget) -> None:
    """wrk against this mode's page, warming up first; its figures and the shop's CPU
    into result["page"]."""
    assert bench.shop is not None and bench.sampler is not None
    url, headers = page_request(bench.shop.url, bench.mode)
    what = "the floor page" if bench.mode == FLOOR else "the product page"
    connections, seconds = budget.page_connections, budget.pages
    planned = budget.page_warmup + seconds + 2
    bench.progress.phase(f"{bench.mode}: {what}, wrk, {connections} connections", planned)
    if budget.page_warmup > 0:
        run_wrk(WrkRun(url, budget.page_warmup, connections, headers=headers), wrk)
    start = bench.sampler.sample().at
    figures, output = run_wrk(WrkRun(url, seconds, connections, headers=headers), wrk)
    end = bench.sampler.sample().at
    (bench.work / "page-wrk.txt").write_text(output)
    cost = bench.sampler.between(start, end)
    bench.result["page"] = {
        **figures,
        "url": url,
        "connections": connections,
        "load_generator": "wrk",
        "cpu": cost.as_json(int(figures["requests"])) if bench.shop.home else None,
    }


def pages_summary(product: dict[str, Any] | None, floor: dict[str, Any] | None) -> dict[str, Any]:
    """Mosaic's product page against the floor page: pages/s, CPU per page, the fraction."""

    def cpu_ms(page: dict[str, Any] | None) -> float | None:
        per = ((page or {}).get("cpu") or {}).get("per_request") or {}
        value = per.get("with_backing")
        return value * 1000 if isinstance(value, int | float) else None

    product_rps = (product or {}).get("rps")
    floor_rps = (floor or {}).get("rps")
    return {
        "product_rps": product_rps,
        "floor_rps": floor_rps,
        "product_cpu_ms": cpu_ms(product),
        "floor_cpu_ms": cpu_ms(floor),
        "product_p95_ms": (product or {}).get("p95_ms"),
        "floor_p95_ms": (floor or {}).get("p95_ms"),
        "fraction_of_floor": product_rps / floor_rps if product_rps and floor_rps else None,
    }
