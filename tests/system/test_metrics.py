"""Metrics against a real `mosaic up`: a scripted set of requests moves the counters of
every process's /metrics by exactly the expected amounts; a real Prometheus (Debian's)
scrapes every ops port from the runner's target file.

Each step reads every process's /metrics before and after and compares the deltas of the
series it touched. The shop's own background work (jobs, the relay, readiness probes) does
not touch those series: it reads no product, calls no payment, and probes the ops port.
"""

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mosaic.ports import free_port
from mosaic.prometheus_install import missing, prometheus_path
from mosaic.prometheus_targets import targets_file
from mosaic_testing import Shopper, UpProcess, wait_until
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.system

DECLINED = "4000 0000 0000 0002"

Series = tuple[str, frozenset[tuple[str, str]]]
Samples = dict[Series, float]


class Shop:
    def __init__(self, up: UpProcess, home: Path, url: str) -> None:
        self.up, self.home, self.url = up, home, url

    def ops_ports(self) -> list[int]:
        return [p["ops_port"] for p in self.up.processes().values() if p.get("ops_port")]

    def scrape(self) -> Samples:
        """Every sample of every process, summed over processes (replicas add up)."""
        found: Samples = {}
        for port in self.ops_ports():
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    key = (sample.name, frozenset(sample.labels.items()))
                    found[key] = found.get(key, 0.0) + sample.value
        return found


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    home = tmp_path_factory.mktemp("metrics") / "home"
    port = free_port()
    with UpProcess(home, port) as up:
        up.wait_ready(timeout=180)
        yield Shop(up, home, f"http://127.0.0.1:{port}")


def series(name: str, **labels: str) -> Series:
    return (name, frozenset(labels.items()))


def requests(service: str, route: str, method: str, status: int) -> Series:
    labels = {"service": service, "route": route, "method": method, "status": str(status)}
    return series("mosaic_http_server_requests_total", **labels)


def calls(service: str, callee: str, outcome: str, attempt: str = "1") -> Series:
    labels = {"service": service, "callee": callee, "outcome": outcome, "attempt": attempt}
    return series("mosaic_http_client_requests_total", **labels)


def cache(result: str) -> Series:
    labels = {"service": "catalog", "cache": "responses", "result": result}
    return series("mosaic_cache_requests_total", **labels)


def moved(before: Samples, after: Samples, wanted: list[Series]) -> list[float]:
    return [after.get(key, 0.0) - before.get(key, 0.0) for key in wanted]


def test_404s_move_the_request_and_call_counters_exactly(shop: Shop) -> None:
    wanted = [
        requests("frontend", "<unmatched>", "GET", 404),
        requests("frontend", "/product/{product_id}", "GET", 404),
        # The product page asks catalog, and recommendations (which asks catalog) beside it;
        # catalog's 404 cancels the page's other calls, so recommendations is reached only
        # when its request left before that answer came back (seen both ways on 2 cores).
        requests("catalog", "/v1/products/{product_id}", "GET", 404),
        requests("recommendations", "/v1/recommendations", "GET", 404),
        calls("frontend", "catalog", "http_4xx"),
        calls("recommendations", "catalog", "http_4xx"),
    ]
    before = shop.scrape()
    for path in ("/no-such-page", "/no/such/page"):
        assert httpx.get(shop.url + path, timeout=20).status_code == 404
    assert httpx.get(shop.url + "/product/no-such-product", timeout=20).status_code == 404
    after = shop.scrape()

    reached = [2, 1, 2, 1, 1, 1]  # recommendations answered 404 after asking catalog
    cancelled = [2, 1, 1, 0, 1, 0]  # the page's call to recommendations never left
    assert moved(before, after, wanted) in (reached, cancelled)
    retried = "mosaic_http_client_retries_total"
    assert [k for k in after if k[0] == retried and moved(before, after, [k])[0]] == []


def test_a_cache_miss_then_hits(shop: Shop) -> None:
    with shop.up.client("catalog", "frontend") as catalog:
        listed = catalog.get("/v1/products", params={"page_size": 50}).json()["items"]
        product = listed[-1]["id"]  # read by nobody yet: the page lists, it reads no product
        before = shop.scrape()
        for _ in range(3):  # the first reads Postgres and fills the cache; the others hit it
            assert catalog.get(f"/v1/products/{product}").status_code == 200
        after = shop.scrape()
    route = "/v1/products/{product_id}"
    timed = series(
        "mosaic_http_server_request_duration_seconds_count",
        service="catalog",
        route=route,
        method="GET",
    )
    wanted = [cache("miss"), cache("hit"), requests("catalog", route, "GET", 200), timed]

    assert moved(before, after, wanted) == [1, 2, 3, 3]


def test_a_declined_card_is_counted_where_it_was_declined(shop: Shop) -> None:
    with Shopper(shop.url) as shopper:
        shopper.add_to_cart(shopper.products()[0])
        form = {**shopper.checkout_form(), "card_number": DECLINED}
        before = shop.scrape()
        answer = shopper.place_order(form)
        after = shop.scrape()
    # One charge, declined (402) by payments, and one call from orders that says so: a
    # 4xx on the first attempt, never retried. (Orders may also ask payments' limits once.)
    wanted = [
        requests("payments", "/v1/charges", "POST", 402),
        requests("payments", "/v1/charges", "POST", 201),
        calls("orders", "payments", "http_4xx"),
        requests("frontend", "/checkout", "POST", answer.status_code),
    ]
    assert moved(before, after, wanted) == [1, 0, 1, 1]
    retried = "mosaic_http_client_retries_total"
    assert [k for k in after if k[0] == retried and moved(before, after, [k])[0]] == []


def test_the_outbox_and_the_consumers_report_their_backlog_once_drained(shop: Shop) -> None:
    """Computed at scrape time (at most every few seconds): once the events of the earlier
    checkouts went out and were handled, every backlog reads 0, and each is there."""
    wanted = [
        series("mosaic_outbox_pending_events", service="orders"),
        series("mosaic_outbox_pending_events", service="accounts"),
        series("mosaic_outbox_oldest_pending_age_seconds", service="orders"),
        *(
            series(name, service="notifications", stream=stream, group="notifications")
            for name in ("mosaic_stream_consumer_lag_entries", "mosaic_stream_pending_entries")
            for stream in ("events:orders", "events:accounts")
        ),
    ]

    seen: list[list[float | None]] = []

    def drained() -> bool:
        found = shop.scrape()
        seen.append([found.get(key) for key in wanted])
        return all(value == 0 for value in seen[-1])

    try:
        wait_until(drained, 60, "every backlog present and 0")
    except AssertionError:
        raise AssertionError(f"last seen {seen[-1]} of {wanted}") from None


RULES = Path(__file__).resolve().parents[2] / "deploy" / "observability" / "rules"


def test_a_real_prometheus_scrapes_every_ops_port_from_the_runner_s_target_file(
    shop: Shop, tmp_path: Path
) -> None:
    """...and evaluates the SLO and symptom rules of deploy/observability on what it scrapes."""
    binary = prometheus_path()
    if (why := missing(binary)) is not None:
        pytest.skip(why)
    targets = json.loads(targets_file(shop.home).read_text())
    assert sorted(t["targets"][0] for t in targets) == sorted(
        f"127.0.0.1:{port}" for port in shop.ops_ports()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES / "*.yaml")],
                "scrape_configs": [
                    {
                        "job_name": "mosaic",
                        # The metrics' own `service` label wins over the target's (they agree,
                        # but a conflict is renamed `exported_service` whatever the values).
                        "honor_labels": True,
                        "file_sd_configs": [
                            {"files": [str(targets_file(shop.home))], "refresh_interval": "1s"}
                        ],
                    }
                ],
            }
        )
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen(
        [
            str(binary),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:

        def query(expression: str) -> list[dict[str, object]]:
            try:
                answer = httpx.get(f"{api}/query", params={"query": expression}, timeout=5)
            except httpx.TransportError:
                return []
            if answer.status_code != 200:  # still starting (503 until its storage is open)
                return []
            result: list[dict[str, object]] = answer.json()["data"]["result"]
            return result

        def every_target_up() -> bool:
            up = query("up")
            return len(up) == len(targets) and all(r["value"][1] == "1" for r in up)  # type: ignore[index]

        wait_until(every_target_up, 90, f"every target up (see {tmp_path / 'prometheus.log'})")
        web = {t["labels"]["service"] for t in targets if t["labels"]["process"] == "web"}
        for service in web:  # a request each (a 404 counts too): each has a series
            if service == "frontend":  # the edge: plain HTTP, no service token
                httpx.get(shop.url + "/no-such-route-for-metrics", timeout=20)
                continue
            with shop.up.client(service) as client:
                client.get("/no-such-route-for-metrics")

        def scraped() -> set[str]:
            found = query('count by (service) (mosaic_http_server_requests_total{process="web"})')
            return {r["metric"]["service"] for r in found}  # type: ignore[index]

        wait_until(lambda: scraped() == web, 30, f"a request series of each of {sorted(web)}")
        # One `service` label: the process's own, not renamed beside the target's.
        labelled = query("mosaic_http_server_requests_total")
        assert labelled and all("exported_service" not in r["metric"] for r in labelled)  # type: ignore[operator]

        # The rules loaded and evaluate without error on the real series; the browse SLI's
        # 5-minute error ratio has a value once the frontend has served a browse page.
        def every_rule_evaluated() -> bool:
            groups = httpx.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            failed = [(r["name"], r.get("lastError")) for r in rules if r.get("health") == "err"]
            assert not failed, failed  # an expression that does not evaluate: at once
            # A group of a longer interval (the 30-day budget, every 5 min) is evaluated first
            # at an offset of up to its interval: those are left to promtool's unit tests.
            prompt = [r for g in groups if g["interval"] <= 60 for r in g["rules"]]
            return len(prompt) > 10 and all(r.get("health") == "ok" for r in prompt)

        httpx.get(shop.url + "/", timeout=20)
        wait_until(every_rule_evaluated, 30, "every rule evaluated without error")
        wait_until(
            lambda: bool(query('slo:sli_error:ratio_rate5m{slo="browse"}')),
            30,
            "the browse SLI's error ratio recorded",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
