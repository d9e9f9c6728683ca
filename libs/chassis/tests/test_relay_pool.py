"""A relay process keeps one idle Postgres connection, not two: its loop is serial, and a
/metrics scrape or a /readyz check that meets a poll in progress borrows an overflow
connection that is closed when returned. (With `pool_size=2` a relay kept a second idle
backend, ~13 MiB of RSS, once a scrape or a check had met a poll.)"""

from __future__ import annotations

from typing import cast

import pytest
from chassis import Database
from chassis.outbox import Publish, Relay, RelayProcessSettings, relay_process


def test_the_relay_process_keeps_one_connection(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://relay:secret@127.0.0.1:1/relay")
    monkeypatch.setenv("BROKER_URL", "redis://127.0.0.1:1/0")
    given: list[Database] = []

    def relay(database: Database, publish: Publish) -> Relay:
        given.append(database)
        return cast(Relay, object())

    worker = relay_process(RelayProcessSettings(), relay, "events:test")
    assert [database.pool_size for database in given] == [1]
    assert given[0] in worker.resources
