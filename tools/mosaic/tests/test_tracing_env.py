"""What `mosaic up` asks of tracing: writes' traces up to one a second, page views one in a hundred
by default (issue 14 item 7: the default must cost at most 10 % more CPU), the runner's own settings
winning, and a ratio of 0 meaning no traces at all."""

from __future__ import annotations

import pytest
from mosaic.plan import tracing_env


def sampling(monkeypatch: pytest.MonkeyPatch, **runner: str) -> tuple[str, str]:
    for name in ("OTEL_TRACES_SAMPLER_ARG", "MOSAIC_TRACE_WRITES_PER_SECOND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in runner.items():
        monkeypatch.setenv(name, value)
    env = tracing_env("http://127.0.0.1:1")
    return env["OTEL_TRACES_SAMPLER_ARG"], env["MOSAIC_TRACE_WRITES_PER_SECOND"]


def test_by_default_a_write_a_second_and_one_page_view_in_a_hundred(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sampling(monkeypatch) == ("0.01", "1")


def test_a_ratio_of_zero_keeps_no_trace_not_even_an_orders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sampling(monkeypatch, OTEL_TRACES_SAMPLER_ARG="0") == ("0", "0")
    assert sampling(monkeypatch, OTEL_TRACES_SAMPLER_ARG="0.00") == ("0.00", "0")


def test_the_runners_own_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sampling(monkeypatch, OTEL_TRACES_SAMPLER_ARG="1.0") == ("1.0", "1")
    assert sampling(monkeypatch, MOSAIC_TRACE_WRITES_PER_SECOND="0") == ("0.01", "0")
