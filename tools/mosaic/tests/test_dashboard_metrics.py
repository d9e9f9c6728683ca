"""The dashboard's arithmetic on Prometheus texts as prometheus-client writes them: rates
from two scrapes (a restarted process's counter counted from zero), the error ratio, and
p95 from histogram buckets as histogram_quantile() computes it."""

from __future__ import annotations

import pytest
from mosaic.dashboard_metrics import (
    Scrape,
    call_traffic,
    gauge,
    parse_samples,
    quantile,
    server_traffic,
)

ROUTE = 'method="GET",route="/v1/products",service="catalog"'
BUCKETS = (".005", ".01", ".025", ".05", ".1", ".25", ".5", "1.0", "2.5", "5.0", "10.0", "+Inf")


def exposition(ok: int, failed: int, durations: dict[str, int], lag: int = 0) -> str:
    """catalog's /metrics: `ok` 200s and `failed` 503s on one route, the buckets'
    cumulative counts given by upper bound (the others: the count below them)."""
    lines = [
        "# HELP mosaic_http_server_requests_total Requests.",
        "# TYPE mosaic_http_server_requests_total counter",
        f'mosaic_http_server_requests_total{{{ROUTE},status="200"}} {ok}',
        f'mosaic_http_server_requests_total{{{ROUTE},status="503"}} {failed}',
        "# HELP mosaic_http_server_request_duration_seconds Duration.",
        "# TYPE mosaic_http_server_request_duration_seconds histogram",
    ]
    count = 0
    for bound in BUCKETS:
        count = durations.get(bound, count)
        lines.append(
            f'mosaic_http_server_request_duration_seconds_bucket{{le="{bound}",{ROUTE}}} {count}'
        )
    lines += [
        "# HELP mosaic_stream_consumer_lag_entries Lag.",
        "# TYPE mosaic_stream_consumer_lag_entries gauge",
        "mosaic_stream_consumer_lag_entries"
        f'{{group="notifications",service="notifications",stream="events:orders"}} {lag}',
    ]
    return "\n".join(lines) + "\n"


def scrape(at: float, **texts: str) -> Scrape:
    return Scrape(at, {target: parse_samples(text) for target, text in texts.items()})


def test_rate_and_error_ratio_come_from_two_scrapes() -> None:
    before = scrape(0.0, a=exposition(100, 0, {"+Inf": 100, ".1": 100}))
    after = scrape(10.0, a=exposition(180, 20, {".1": 190, "+Inf": 200}))
    traffic = server_traffic(before, after, "catalog")
    assert traffic.rate == pytest.approx(10.0)  # 100 requests in 10 s
    assert traffic.errors == pytest.approx(2.0)
    assert traffic.error_ratio == pytest.approx(0.2)


def test_replicas_add_up_and_a_restarted_one_counts_from_zero() -> None:
    before = scrape(0.0, a=exposition(50, 0, {}), b=exposition(500, 0, {}))
    # b restarted: its counter is back at 30; those 30 are new requests, not -470
    after = scrape(5.0, a=exposition(70, 0, {}), b=exposition(30, 0, {}))
    assert server_traffic(before, after, "catalog").rate == pytest.approx((20 + 30) / 5)


def test_p95_interpolates_inside_the_bucket_it_falls_in() -> None:
    # 100 requests: 90 under 50 ms, 10 between 50 and 100 ms; rank 95 is halfway in (.05, .1]
    before = scrape(0.0, a=exposition(0, 0, {}))
    after = scrape(1.0, a=exposition(100, 0, {".025": 40, ".05": 90, ".1": 100, "+Inf": 100}))
    assert server_traffic(before, after, "catalog").p95 == pytest.approx(0.075)


def test_quantile_edge_cases() -> None:
    assert quantile(0.95, {}) is None
    assert quantile(0.95, {0.1: 0.0, float("inf"): 0.0}) is None
    # everything over the highest finite bound: that bound, as histogram_quantile() says
    assert quantile(0.95, {10.0: 0.0, float("inf"): 4.0}) == 10.0
    assert quantile(0.5, {0.1: 10.0, float("inf"): 10.0}) == pytest.approx(0.05)


def test_no_requests_is_no_rate_and_no_p95() -> None:
    same = exposition(10, 1, {"+Inf": 11})
    traffic = server_traffic(scrape(0.0, a=same), scrape(2.0, a=same), "catalog")
    assert (traffic.rate, traffic.error_ratio, traffic.p95) == (0.0, 0.0, None)
    assert server_traffic(scrape(0.0, a=same), scrape(2.0, a=same), "orders").rate == 0.0


def test_a_call_edge_counts_5xx_timeouts_and_unreachable_as_errors() -> None:
    def calls(ok: int, http_4xx: int, http_5xx: int, timeout: int) -> str:
        counts = {"ok": ok, "http_4xx": http_4xx, "http_5xx": http_5xx, "timeout": timeout}
        return "# TYPE mosaic_http_client_requests_total counter\n" + "".join(
            f'mosaic_http_client_requests_total{{attempt="1",callee="payments",outcome="{o}",'
            f'service="orders"}} {n}\n'
            for o, n in counts.items()
        )

    before = scrape(0.0, a=calls(0, 0, 0, 0))
    after = scrape(4.0, a=calls(30, 6, 2, 2))
    traffic = call_traffic(before, after, "orders", "payments")
    assert traffic.rate == pytest.approx(10.0)
    assert traffic.error_ratio == pytest.approx(0.1)  # a 4xx is the caller's answer, not an error
    assert call_traffic(before, after, "orders", "shipping").rate == 0.0


def test_a_gauge_is_summed_over_replicas_and_absent_is_none() -> None:
    latest = scrape(0.0, a=exposition(0, 0, {}, lag=3), b=exposition(0, 0, {}, lag=4))
    lag = "mosaic_stream_consumer_lag_entries"
    assert gauge(latest, lag, stream="events:orders") == 7.0
    assert gauge(latest, lag, stream="events:accounts") is None
