"""A query is a span of the work that ran it (SQLAlchemy's instrumentation on each
engine the chassis opens), against a real Postgres."""

from __future__ import annotations

from chassis import tracing
from chassis.db import Database
from mosaic.backing import BackingServers
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text


async def test_every_query_is_a_child_span_of_the_work(
    spans: InMemorySpanExporter, backing: BackingServers
) -> None:
    for name in ("first", "second"):  # a process may open more than one database
        database = Database(backing.database_url("tracing"), pool_size=1)
        await database.open()
        try:
            with tracing.span(name) as work:
                async with database.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        finally:
            await database.close()
        queries = [
            s
            for s in spans.get_finished_spans()
            if s.kind is SpanKind.CLIENT
            and s.parent is not None
            and s.parent.span_id == work.get_span_context().span_id
        ]
        assert [q.name.split()[0] for q in queries] == ["SELECT"], name
        assert (queries[0].attributes or {}).get("db.system") == "postgresql"
