"""Reading the runner's log files: time order across processes and rotated files, every
filter alone and combined, --since and --level parsing, following across rotation, and
the command line's answers to bad input."""

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mosaic.errors import UsageError
from mosaic.log_files import LogFiles
from mosaic.log_reading import (
    Follower,
    LogFilter,
    check_services,
    parse_entry,
    parse_level,
    parse_since,
    read_entries,
)
from mosaic_testing import mosaic, wait_until

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def line(seconds: float, event: str, service: str, **fields: object) -> str:
    stamp = (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    record = {"event": event, "level": "info", "timestamp": stamp, "service": service}
    return json.dumps({**record, **fields})


def write(folder: Path, name: str, *lines: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("a") as file:
        file.writelines(f"{text}\n" for text in lines)


@pytest.fixture
def shop_logs(tmp_path: Path) -> Path:
    """Three processes, one with a rotated file, one the in-process host, one Postgres."""
    folder = tmp_path / "logs"
    write(folder, "orders.web.1.log.1", line(1, "o1", "orders", trace_id="t1"))
    write(
        folder,
        "orders.web.1.log",
        line(4, "o4", "orders", trace_id="t1", level="warning"),
        line(7, "o7", "orders", level="error"),
    )
    write(folder, "orders.relay.1.log", line(5, "relay5", "orders"))
    write(
        folder,
        "frontend.web.1.log",
        line(2, "f2", "frontend", trace_id="t1"),
        line(6, "f6", "frontend", trace_id="t2", level="debug"),
    )
    write(folder, "shop.web.1.log", line(3, "cart3", "cart", trace_id="t1"))
    wrapped = {"timestamp": "2026-05-01T12:00:03.500000Z", "level": "unknown"}
    write(
        folder,
        "postgres.log",
        json.dumps(
            {**wrapped, "event": "LOG: ready", "service": "postgres", "process": "postgres"}
        ),
    )
    return folder


def events(folder: Path, keep: LogFilter | None = None) -> list[str]:
    return [str(e.record["event"]) for e in read_entries(folder, keep or LogFilter())]


def test_entries_merge_in_time_order_across_processes_and_rotated_files(shop_logs) -> None:
    assert events(shop_logs) == ["o1", "f2", "cart3", "LOG: ready", "o4", "relay5", "f6", "o7"]


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        (LogFilter(trace="t1"), ["o1", "f2", "cart3", "o4"]),
        (LogFilter(services=("orders",)), ["o1", "o4", "relay5", "o7"]),
        (LogFilter(services=("orders.relay",)), ["relay5"]),
        (LogFilter(services=("orders.web.1",)), ["o1", "o4", "o7"]),
        (LogFilter(services=("cart", "frontend")), ["f2", "cart3", "f6"]),  # the host's too
        (LogFilter(services=("postgres",)), ["LOG: ready"]),
        (LogFilter(level="warning"), ["o4", "o7"]),  # unknown levels left out
        (LogFilter(level="debug"), ["o1", "f2", "cart3", "o4", "relay5", "f6", "o7"]),
        (LogFilter(since=T0 + timedelta(seconds=4)), ["o4", "relay5", "f6", "o7"]),
        (LogFilter(grep='"f'), ["f2", "f6"]),
        (LogFilter(trace="t1", level="warning", services=("orders",)), ["o4"]),
        (LogFilter(trace="t1", since=T0 + timedelta(seconds=2.5)), ["cart3", "o4"]),
        (LogFilter(trace="t"), []),  # a trace id matches whole, never a prefix
    ],
)
def test_filters_alone_and_combined(shop_logs, keep: LogFilter, expected: list[str]) -> None:
    assert events(shop_logs, keep) == expected


def test_a_line_that_is_not_json_keeps_its_place() -> None:
    before = datetime(2026, 1, 1, tzinfo=UTC)
    entry = parse_entry("orders.web.1", "Traceback (most recent call last):", before)
    assert entry.when == before and entry.level == "unknown"
    assert entry.record["event"] == "Traceback (most recent call last):"
    assert entry.service == "orders"


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("10m", timedelta(minutes=10)),
        ("30s", timedelta(seconds=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1.5)),
    ],
)
def test_since_as_a_duration_ago(text: str, ago: timedelta) -> None:
    assert parse_since(text, T0) == T0 - ago


def test_since_as_an_iso_time() -> None:
    assert parse_since("2026-05-01T14:00:00+02:00", T0) == T0
    assert parse_since("2026-05-01T12:00:00Z", T0) == T0
    local = parse_since("2026-05-01 12:00", T0)  # no zone: this machine's local time
    assert local == datetime(2026, 5, 1, 12, 0).astimezone()


@pytest.mark.parametrize("text", ["yesterday", "10", "m", "-5m", "10 minutes", ""])
def test_a_bad_since_says_what_is_valid(text: str) -> None:
    with pytest.raises(UsageError, match=r"30s, 10m, 2h, 1d.*ISO time"):
        parse_since(text, T0)


def test_levels() -> None:
    assert parse_level("WARNING") == "warning"
    assert parse_level("warn") == "warning"
    with pytest.raises(UsageError, match="debug, info, warning, error, critical"):
        parse_level("loud")


def test_an_unknown_service_names_the_known_ones() -> None:
    known = ["orders", "cart", "postgres"]
    assert check_services(["orders.relay", "cart"], known) == ("orders.relay", "cart")
    with pytest.raises(UsageError, match=r"unknown service 'ordres': give one of cart, orders"):
        check_services(["ordres"], known)


def test_following_reads_new_lines_across_rotation(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    files = LogFiles(folder, file_bytes=400, keep=1, flush_seconds=3600)
    files.add("orders.web.1", line(0, "before", "orders"))
    files._write_pending()
    follower = Follower(folder)
    stops = follower.start()
    assert [e.record["event"] for e in read_entries(folder, LogFilter(), stops)] == ["before"]

    seen: list[str] = []
    for n in range(1, 12):  # ~150 bytes a line: several rotations
        files.add("orders.web.1", line(n, f"after {n}", "orders"))
        files._write_pending()
        if n % 2:
            seen += [str(e.record["event"]) for e in follower.poll(LogFilter())]
    files.add("cart.web.1", line(20, "a new process", "cart"))
    files._write_pending()
    seen += [str(e.record["event"]) for e in follower.poll(LogFilter())]
    files.close()
    follower.close()
    assert (folder / "orders.web.1.log.1").exists()
    # Nothing lost or repeated while polled once per rotation at most (keep=1 leaves one
    # rotated file: a follower slower than two rotations would miss the middle one).
    assert seen == [f"after {n}" for n in range(1, 12)] + ["a new process"]


# The command line, as a user runs it.


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mosaic("logs", *args, env={**os.environ, "MOSAIC_HOME": str(home)})


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "--since 'yesterday': give a duration ago"),
        (["--level", "loud"], "--level 'loud': give one of debug, info"),
        (["ordres"], "unknown service 'ordres': give one of "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(shop_logs, args: list[str], says: str) -> None:
    done = run(shop_logs.parent, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"mosaic: {done.stderr.split(': ', 1)[1].strip()}"]
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_no_logs_yet_says_where_it_looked_and_how_to_get_some(tmp_path: Path) -> None:
    done = run(tmp_path / "home")
    assert done.returncode == 1
    assert f"no logs in {tmp_path / 'home' / 'logs'} yet" in done.stderr
    assert "mosaic up" in done.stderr


def test_json_gives_the_stored_lines(shop_logs) -> None:
    done = run(shop_logs.parent, "--json", "--trace", "t1")
    assert done.returncode == 0, done.stderr
    stored = {
        text
        for path in shop_logs.iterdir()
        for text in path.read_text().splitlines()
        if json.loads(text).get("trace_id") == "t1"
    }
    assert len(done.stdout.splitlines()) == 4
    assert set(done.stdout.splitlines()) == stored


def test_pretty_output_names_process_level_and_event(shop_logs) -> None:
    done = run(shop_logs.parent, "orders.web")
    assert done.returncode == 0, done.stderr
    shown = done.stdout.splitlines()
    assert len(shown) == 3
    assert shown[1].startswith("orders.web.1") and "warning o4 trace_id=t1" in shown[1]
    assert "\x1b[" not in done.stdout  # not a terminal: no colours


def test_follow_ends_on_ctrl_c_with_130_and_no_traceback(shop_logs) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "mosaic", "logs", "--follow", "--json"],
        env={**os.environ, "MOSAIC_HOME": str(shop_logs.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    shown: list[str] = []

    def read() -> None:
        assert follower.stdout is not None
        shown.extend(follower.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_until(lambda: len(shown) == 8, 30, "the 8 lines kept so far")
        write(shop_logs, "orders.web.1.log", line(9, "later", "orders"))
        wait_until(lambda: len(shown) == 9, 10, "the line written since")
        assert json.loads(shown[-1])["event"] == "later"
        follower.send_signal(signal.SIGINT)
        assert follower.wait(10) == 130
        assert follower.stderr is not None
        assert "Traceback" not in follower.stderr.read()
    finally:
        follower.kill()
        follower.wait()
        reader.join(10)
        for pipe in (follower.stdout, follower.stderr):
            assert pipe is not None
            pipe.close()
