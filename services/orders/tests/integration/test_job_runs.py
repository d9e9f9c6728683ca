"""Job runs on real Postgres: `python -m orders.jobs recover` leaves a row per run, and the
web process's /metrics counts them (`chassis.job_runs`), still after the rows are pruned."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import asyncpg
import httpx
from chassis.ops import Lifecycle, create_ops_app
from chassis.testing import ServiceKeys
from prometheus_client.parser import text_string_to_metric_families

from services.orders.tests.stand_ins import StandIns

from .driving import orders_client, run_recover


def _samples(exposition: str, prefix: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name.startswith(prefix)
    }


async def test_each_run_is_recorded_and_counted_on_the_web_process_metrics(
    database_url: str,
    stand_ins: StandIns,
    keys: ServiceKeys,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    await db.execute("TRUNCATE job_runs, job_run_totals")
    ok = run_recover(database_url, stand_ins, keys)
    assert ok.returncode == 0, ok.stderr
    # A signing key that is no key: the pass cannot make its clients, so the run fails.
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("not a key\n")
    failed = run_recover(database_url, stand_ins, keys, SERVICE_SIGNING_KEY_FILE=not_a_key)
    assert failed.returncode == 1, failed.stdout + failed.stderr

    rows = await db.fetch("SELECT * FROM job_runs ORDER BY started_at")
    assert [(row["job"], row["outcome"]) for row in rows] == [
        ("recover", "ok"),
        ("recover", "failed"),
    ]
    for row in rows:
        assert row["started_at"].tzinfo is not None
        assert row["started_at"].astimezone(UTC) <= row["finished_at"].astimezone(UTC)
        assert 0 < len(row["output_tail"]) <= 4096
    assert "taken over: 0" in rows[0]["output_tail"]
    assert "job run failed" in rows[1]["output_tail"]
    # Pruning deletes old rows; the counters must not fall with them (they read the totals).
    await db.execute("DELETE FROM job_runs")

    ops = create_ops_app(Lifecycle(), service="orders-metered", version="test")
    async with (
        orders_client(database_url, stand_ins, keys, MOSAIC_SERVICE="orders-metered"),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=ops), base_url="http://ops") as http,
    ):
        scraped = (await http.get("/metrics")).text
    of_orders = (("job", "recover"), ("service", "orders-metered"))
    samples = _samples(scraped, "mosaic_job_")
    assert (
        samples[("mosaic_job_runs_total", (*of_orders[:1], ("outcome", "ok"), of_orders[1]))] == 1
    )
    assert (
        samples[("mosaic_job_runs_total", (*of_orders[:1], ("outcome", "failed"), of_orders[1]))]
        == 1
    )
    assert samples[("mosaic_job_duration_seconds_count", of_orders)] == 2
    assert (
        samples[
            (
                "mosaic_job_duration_seconds_bucket",
                (("job", "recover"), ("le", "+Inf"), of_orders[1]),
            )
        ]
        == 2
    )
    seconds = sum((row["finished_at"] - row["started_at"]).total_seconds() for row in rows)
    assert abs(samples[("mosaic_job_duration_seconds_sum", of_orders)] - seconds) < 1e-3
