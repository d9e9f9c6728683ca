"""`mosaic logs` against a real `mosaic up`: one checkout through the frontend, then
`--trace` returns exactly that trace's lines, from every process that handled it, and
nothing else; `--since` and `--level` keep exactly what a scan of every file keeps.

The shop keeps writing while a test reads (jobs, the relay), so a filter's answer is
checked between two scans of every file: everything the scan before the command kept is
in the answer, and the answer holds nothing the scan after it would not keep.
"""

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from mosaic.log_files import log_files
from mosaic.log_reading import LEVELS
from mosaic.ports import free_port
from mosaic_testing import CHECKOUT_SERVICES, MODES, Shopper, UpProcess, mosaic, up_args, wait_until

pytestmark = pytest.mark.system

# Who a checkout reaches, each through the caller's trace: the frontend's page, orders'
# saga, and every service the saga calls (14 lines in all, when this was written).


@dataclass
class Shop:
    up: UpProcess
    home: Path
    url: str

    def logs(self, *args: str) -> list[str]:
        done = mosaic("logs", "--json", *args, env={**os.environ, "MOSAIC_HOME": str(self.home)})
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    def scan(self, keep: Callable[[dict[str, Any]], bool]) -> Counter[str]:
        """Every stored line of every file that `keep` keeps, counted."""
        found: Counter[str] = Counter()
        for paths in log_files(self.home / "logs").values():
            for path in paths:
                for line in path.read_text().splitlines():
                    if keep(json.loads(line)):
                        found[line] += 1
        return found

    def between_scans(
        self, keep: Callable[[dict[str, Any]], bool], *args: str
    ) -> tuple[Counter[str], list[str], Counter[str]]:
        before = self.scan(keep)
        answer = self.logs(*args)
        return before, answer, self.scan(keep)


@pytest.fixture(scope="module", params=MODES)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """Separate processes, then every service in one (its lines name their service)."""
    home = tmp_path_factory.mktemp("logs") / "home"
    port = free_port()
    with UpProcess(home, port, *up_args(request.param)) as up:
        up.wait_ready(timeout=180)
        yield Shop(up, home, f"http://127.0.0.1:{port}")


def at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["timestamp"])


def in_time_order(lines: list[str]) -> bool:
    times = [at(json.loads(line)) for line in lines]
    return times == sorted(times)


@pytest.mark.timeout(300)
def test_one_checkout_s_trace_is_every_line_of_it_and_nothing_else(shop: Shop) -> None:
    with Shopper(shop.url) as shopper:
        shopper.add_to_cart(shopper.products()[0], 1)
        answer = shopper.place_order(shopper.checkout_form())
    assert answer.status_code == 303, answer.text
    request_id = answer.headers["x-request-id"]

    def checkout_line(record: dict[str, Any]) -> bool:  # the request id travels on too
        return (record.get("request_id"), record.get("event"), record.get("service")) == (
            request_id,
            "request",
            "frontend",
        )

    wait_until(lambda: shop.scan(checkout_line), 30, "the frontend's line of the checkout")
    [line] = shop.scan(checkout_line)
    trace = json.loads(line)["trace_id"]

    def of_trace(record: dict[str, Any]) -> bool:
        return record.get("trace_id") == trace

    def services() -> set[str]:
        return {json.loads(line)["service"] for line in shop.scan(of_trace)}

    # Each callee logs before its caller does, but each process's pipe is read on its own.
    # The trace goes on through the order's event: notifications' confirmation line is
    # the last of it.
    def complete() -> bool:
        return services() >= CHECKOUT_SERVICES and any(
            '"order confirmation sent"' in line for line in shop.scan(of_trace)
        )

    wait_until(complete, 60, "every service's lines, the confirmation's included")
    before, answer_lines, after = shop.between_scans(of_trace, "--trace", trace)

    assert before == after  # nothing of this trace came since: the set is complete
    assert Counter(answer_lines) == before
    assert in_time_order(answer_lines)
    handled_by = {json.loads(line)["service"] for line in answer_lines}
    assert handled_by >= CHECKOUT_SERVICES, handled_by
    assert {json.loads(line)["service"] for line in before} == handled_by
    # Filters combine: one service's share of the trace (in-process too, where one
    # process writes every service's lines).
    orders = [line for line in answer_lines if json.loads(line)["service"] == "orders"]
    assert orders and shop.logs("--trace", trace, "orders") == orders


def test_since_keeps_exactly_the_lines_from_then_on(shop: Shop) -> None:
    everything = shop.logs()
    middle = json.loads(everything[len(everything) // 2])["timestamp"]
    since = datetime.fromisoformat(middle)

    def from_then_on(record: dict[str, Any]) -> bool:
        return at(record) >= since

    before, answer, after = shop.between_scans(from_then_on, "--since", middle)
    assert answer and in_time_order(answer)
    assert not before - Counter(answer), "kept by the scan, missing from the answer"
    assert not Counter(answer) - after, "in the answer, not from then on"
    earlier = [line for line in everything if at(json.loads(line)) < since]
    assert earlier and not set(earlier) & set(answer)


def test_level_keeps_exactly_warnings_and_worse(shop: Shop) -> None:
    # A form posted without its CSRF token: the frontend refuses it with a warning.
    refused = httpx.post(f"{shop.url}/currency", data={"currency": "EUR"}, timeout=30)
    assert refused.status_code == 403
    request_id = refused.headers["x-request-id"]
    wanted = LEVELS[LEVELS.index("warning") :]

    def warning_or_worse(record: dict[str, Any]) -> bool:
        return record.get("level") in wanted

    def refusal_logged() -> bool:
        return any(request_id in line for line in shop.scan(warning_or_worse))

    wait_until(refusal_logged, 30, "the frontend's warning about the refused form")
    before, answer, after = shop.between_scans(warning_or_worse, "--level", "warning")
    assert any(request_id in line for line in answer)
    assert not before - Counter(answer)
    assert not Counter(answer) - after
    assert all(json.loads(line)["level"] in wanted for line in answer)
