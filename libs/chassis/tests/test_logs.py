"""Logging configured again in one process (several apps in one test session) takes effect
for loggers that were already used: their service name and their output follow."""

import io
import json
import sys

import pytest
from chassis import configure_logging, get_logger

log = get_logger("chassis.tests.logs")


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
