"""Which database errors are an outage (503 database-unavailable) and which are a bug (500)."""

from __future__ import annotations

from chassis.db_outage import is_outage
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError


def test_postgres_unreachable_or_gone_is_an_outage() -> None:
    assert is_outage(ConnectionRefusedError())
    assert is_outage(ConnectionResetError())
    assert is_outage(OperationalError("SELECT 1", {}, Exception("server closed")))
    assert is_outage(InterfaceError("SELECT 1", {}, Exception("connection is closed")))


def test_a_wrong_statement_or_a_broken_rule_is_not() -> None:
    assert not is_outage(ProgrammingError("SELEC 1", {}, Exception("syntax error")))
    assert not is_outage(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_outage(TimeoutError())  # a timeout of anything else says nothing of it
    assert not is_outage(ValueError())
