"""Logging configured again in one process (several apps in one test session) takes effect
for loggers that were already used: their service name and their output follow."""

import io
import json
import logging
import sys

import pytest
import structlog
from chassis import configure_logging, get_logger
from chassis.logs import log_line

log = get_logger("chassis.tests.logs")


pytestmark = pytest.mark.usefixtures("logging_as_it_was")


def test_a_logger_used_before_follows_a_new_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(service="first", version="1", log_format="json")
    log.info("before")
    assert json.loads(capsys.readouterr().out)["service"] == "first"

    configure_logging(service="second", version="2", log_format="json")
    log.info("after")

    line = json.loads(capsys.readouterr().out)
    assert (line["event"], line["service"], line["version"]) == ("after", "second", "2")


def test_lines_go_to_the_stdout_of_the_moment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = io.StringIO()
    monkeypatch.setattr(sys, "stdout", earlier)
    configure_logging(service="svc", version="1", log_format="json")
    monkeypatch.undo()  # sys.stdout is the test's capture again

    log.warning("where")

    assert earlier.getvalue() == ""
    assert json.loads(capsys.readouterr().out)["event"] == "where"


def test_the_fast_line_is_the_line_structlog_writes(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service="svc", version="3", log_format="json")
    fields = {"method": "GET", "route": "/v1/things/{id}", "status": 200, "duration_ms": 1.5}
    structlog.contextvars.bind_contextvars(request_id="r-1", trace_id="t" * 32)
    try:
        get_logger("chassis.request").info("request", **fields)
        log_line(logging.getLogger("chassis.request"), "request", dict(fields))
    finally:
        structlog.contextvars.unbind_contextvars("request_id", "trace_id")
    slow, fast = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert list(fast) == list(slow)  # same fields, same order
    assert {**fast, "timestamp": None} == {**slow, "timestamp": None}
    assert fast["timestamp"].endswith("Z")


def test_the_fast_line_keeps_to_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service="svc", version="3", log_format="json", level="warning")
    log_line(logging.getLogger("chassis.request"), "request", {"status": 200})
    assert capsys.readouterr().out == ""
