"""The merged output stream: prefixes, pass-through when piped, compact JSON on a terminal."""

import io

import pytest
from mosaic.logs import LogStream, render_event


def test_piped_output_is_prefixed_aligned_and_untouched() -> None:
    out = io.StringIO()
    logs = LogStream(out, pretty=False)
    logs.reserve(["catalog.web.1", "postgres"])
    logs.line("postgres", '{"event": "x"}')
    logs.banner("Mosaic is ready: http://127.0.0.1:8080")
    assert out.getvalue().splitlines() == [
        'postgres      | {"event": "x"}',
        "Mosaic is ready: http://127.0.0.1:8080",
    ]


def test_a_json_log_line_renders_compactly() -> None:
    line = (
        '{"event": "request", "level": "info", "timestamp": "2026-01-02T03:04:05.678901Z",'
        ' "service": "catalog", "version": "1", "logger": "chassis.request",'
        ' "status": 200, "path": "/v1/products"}'
    )
    assert render_event(line, color=False) == (
        "03:04:05.678 info    request status=200 path=/v1/products"
    )
    colored = render_event(line, color=True)
    assert colored is not None
    assert "\x1b[" in colored


def test_other_lines_are_not_rendered() -> None:
    for line in ("LOG:  database system is ready", "{not json", '{"no": "event"}'):
        assert render_event(line, color=True) is None


def test_a_line_of_another_service_than_its_process_names_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    logs = LogStream(out, pretty=True)
    logs.reserve(["shop.web.1", "catalog.web.1"])
    line = '{"event": "request", "level": "info", "service": "%s", "status": 200}'
    logs.line("shop.web.1", line % "catalog")  # one process hosting every service
    logs.line("catalog.web.1", line % "catalog")
    hosted, own = out.getvalue().splitlines()
    assert hosted.endswith("info    request service=catalog status=200")
    assert own.endswith("info    request status=200")
