"""Issue 19's faults on every hop under load: while shoppers browse and check out through
the pages, each hop of the shop (service to service, to Postgres, to Valkey: every proxy of
`mosaic up --faults`) gets latency, then resets, in turn: at each step one hop has
LATENCY and another (half the list further on) resets, for STEP_SECONDS.

What must hold:
- every browse request is answered (none hangs) and the slowest hundredth inside the
  frontend's deadline (its page budget, 5 s);
- every checkout ends as its shopper was told, no order lost or doubled (the chaos run's
  rules, `mosaic_testing.chaos`);
- retries stay inside each process's budget for each callee (a tenth of its calls, and
  the budget's floor per window: `chassis.retry_budget`), counted at the client from each
  process's own metrics;
- afterwards every pool is idle (Postgres, Valkey and HTTP connections in use: 0) and no
  process holds more open file descriptors than at its baseline under the same load.
"""

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from chassis import retry_budget
from mosaic.ports import free_port
from mosaic_testing import FAST_REDELIVERY, Shopper, UpProcess, mosaic, wait_until
from mosaic_testing.chaos import Chaos, run
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.system

STEP_SECONDS = 2
LATENCY = ("latency", "--latency-ms", "200", "--jitter-ms", "100")
RESET = ("reset", "--probability", "0.5")
SHOPPERS = 3
BROWSERS = 3
BROWSE_PAUSE = 0.2  # seconds between one browser's pages
PAGE_BUDGET_S = 5.0  # the frontend's REQUEST_BUDGET_MS
SLACK_S = 1.0  # what a page's own transfer may add past it on a busy machine
FD_SLACK = 8  # connections a process may have reopened (a reset one) and keep idle
BROWSE_PAGES = ("/", "/category/kitchen", "/category/outdoor", "/cart")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, str]]:
    home = tmp_path_factory.mktemp("hop-faults") / "home"
    port = free_port()
    with UpProcess(home, port, "--faults", extra_env=FAST_REDELIVERY) as up:
        up.wait_ready(timeout=240)
        yield up, f"http://127.0.0.1:{port}"


@dataclass
class Browsing:
    """BROWSERS visitors reading pages one after another until stopped; each answer's
    status (0: none within the client's timeout, or the connection failed) and seconds."""

    url: str
    products: list[str]
    answers: list[tuple[int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def browse(self, number: int) -> None:
        pages = [*BROWSE_PAGES, *(f"/product/{p}" for p in self.products)]
        with httpx.Client(base_url=self.url, timeout=30) as http:
            n = number
            while not self.stop.is_set():
                began = time.monotonic()
                try:
                    status = http.get(pages[n % len(pages)]).status_code
                except httpx.HTTPError:
                    status = 0
                self.answers.append((status, time.monotonic() - began))
                n += 1
                self.stop.wait(BROWSE_PAUSE)

    def p99(self) -> float:
        times = sorted(seconds for _, seconds in self.answers)
        return times[min(len(times) - 1, math.ceil(len(times) * 0.99) - 1)]


def processes(up: UpProcess) -> dict[str, dict[str, Any]]:
    """The services' processes (name -> status), not Postgres, Valkey or the mailbox."""
    return {name: p for name, p in up.processes().items() if name.count(".") == 2}


def open_fds(pid: int) -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def samples(process: dict[str, Any]) -> list[tuple[str, dict[str, str], float]]:
    text = httpx.get(f"http://127.0.0.1:{process['ops_port']}/metrics", timeout=10).text
    return [(s.name, s.labels, s.value)
            for family in text_string_to_metric_families(text) for s in family.samples]  # fmt: skip


def calls_and_retries(up: UpProcess) -> dict[tuple[str, str], tuple[float, float]]:
    """(process, callee) -> (first attempts, retries), as each process counts them."""
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for name, process in processes(up).items():
        if not process.get("ops_port"):
            continue
        for metric, labels, value in samples(process):
            key = (name, labels.get("callee", ""))
            calls, retries = found.get(key, (0.0, 0.0))
            if metric == "mosaic_http_client_requests_total" and labels["attempt"] == "1":
                found[key] = (calls + value, retries)
            elif metric == "mosaic_http_client_retries_total":
                found[key] = (calls, retries + value)
    return found


def pools_in_use(up: UpProcess) -> dict[str, float]:
    """process/pool -> connections in use, for every pool of every service process."""
    pools = ("mosaic_db_pool_connections", "mosaic_valkey_pool_connections",
             "mosaic_http_client_pool_connections")  # fmt: skip
    found = {}
    for name, process in processes(up).items():
        if process.get("ops_port"):
            for metric, labels, value in samples(process):
                if metric in pools and labels.get("state") == "in_use":
                    found[f"{name}/{metric}"] = found.get(f"{name}/{metric}", 0) + value
    return found


def fds(up: UpProcess) -> dict[str, int]:
    return {name: open_fds(int(p["pid"])) for name, p in processes(up).items() if p.get("pid")}


def schedule(hops: list[str]) -> list[Chaos]:
    """At step i: latency on hop i, resets on hop i + n/2; each for STEP_SECONDS."""
    n = len(hops)
    steps: list[Chaos] = []
    for i, hop in enumerate(hops):
        at = (i + 1) / (n + 2)
        other = hops[(i + n // 2) % n]
        for on, kind in ((hop, LATENCY), (other, RESET)):  # both on at once, each ends by itself
            steps.append(Chaos(("fault", on, *kind, "--for", str(STEP_SECONDS)), at))
    return steps


def faults_left(up: UpProcess) -> list[str]:
    listed = mosaic("chaos", "faults", "--json", env=up.env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    return [h["hop"] for h in json.loads(listed.stdout)["hops"] if h["fault"]["kind"] != "none"]


@pytest.mark.timeout(1200)
def test_latency_and_resets_on_each_hop_under_load(shop: tuple[UpProcess, str]) -> None:
    up, url = shop
    listed = mosaic("chaos", "faults", "--json", env=up.env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    hops = [h["hop"] for h in json.loads(listed.stdout)["hops"]]
    assert len(hops) >= 20, hops  # every caller's every callee, Postgres and Valkey included
    with Shopper(url) as visitor:
        products = visitor.products()[:4]
    browsing = Browsing(url, products)
    browsers = [threading.Thread(target=browsing.browse, args=(i,), daemon=True)
                for i in range(BROWSERS)]  # fmt: skip
    for thread in browsers:
        thread.start()
    try:
        # The baseline: the same load without faults, long enough for pools to fill.
        warm = run(up, url, duration=10, shoppers=SHOPPERS, kills=[])
        assert warm.violations == [], warm.as_json()
        baseline, before = fds(up), calls_and_retries(up)
        began = time.monotonic()
        duration = len(hops) * (STEP_SECONDS + 1)
        result = run(up, url, duration=duration, shoppers=SHOPPERS, kills=schedule(hops),
                     presses_again=True, until_signalled=True)  # fmt: skip
        seconds = time.monotonic() - began
    finally:
        browsing.stop.set()
        for thread in browsers:
            thread.join(timeout=60)
    after = calls_and_retries(up)

    statuses = Counter(status for status, _ in browsing.answers)
    report = {
        "hops": len(hops), "seconds": round(seconds), "checkouts": result.checkouts,
        "orders": result.orders, "said": result.finally_said,
        "setup_failures": result.setup_failures, "browse_requests": len(browsing.answers),
        "browse_statuses": dict(statuses), "browse_p99_s": round(browsing.p99(), 3),
        "faults_put": sum(k.back_after is not None for k in result.kills),
        "retries": {f"{p}->{c}": [a - before.get((p, c), (0, 0))[0],
                                  r - before.get((p, c), (0, 0))[1]]
                    for (p, c), (a, r) in sorted(after.items()) if r},
    }  # fmt: skip
    print(json.dumps(report, indent=1))

    assert all(k.back_after is not None for k in result.kills), result.kills  # each was put on
    wait_until(lambda: not faults_left(up), STEP_SECONDS + 10, "every fault ended by its --for")
    assert result.violations == [], "\n".join(
        f"{v.rule} {v.email} {v.order_id}: {v.detail}" for v in result.violations
    )
    assert statuses[0] == 0, statuses  # every page answered: nothing hung
    assert statuses[500] == 0, statuses  # a part away is a 503 page, never an unhandled error
    assert browsing.p99() <= PAGE_BUDGET_S + SLACK_S, report
    windows = math.ceil(seconds / retry_budget.WINDOW_SECONDS) + 1
    for (process, callee), (calls, retries) in after.items():
        made = calls - before.get((process, callee), (0.0, 0.0))[0]
        retried = retries - before.get((process, callee), (0.0, 0.0))[1]
        allowed = retry_budget.RATIO * made + retry_budget.FLOOR * windows
        assert retried <= allowed, (process, callee, made, retried, allowed)

    # Afterwards: the pools idle, and no process holding more than it did before.
    wait_until(lambda: not any(pools_in_use(up).values()), 30, "every pool idle")

    def back_to_baseline() -> bool:
        now = fds(up)
        return all(now[name] <= count + FD_SLACK for name, count in baseline.items() if name in now)

    try:
        wait_until(back_to_baseline, 30, "open files back to the baseline")
    except AssertionError:
        now = fds(up)
        grown = {
            n: (baseline[n], now[n]) for n in baseline if now.get(n, 0) > baseline[n] + FD_SLACK
        }
        raise AssertionError(f"open files past the baseline (before, now): {grown}") from None
