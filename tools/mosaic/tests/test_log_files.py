"""The runner's log files: one per process, JSON kept verbatim, other lines wrapped, rotated by
size, bounded in total, and a writer that never makes the output path wait."""

import json
import time
from datetime import datetime
from pathlib import Path

from mosaic.log_files import LogFiles, log_files, wrap

LINE = '{"event": "request", "level": "info", "timestamp": "2026-01-02T03:04:05.000001Z"}'


def written(folder: Path, name: str) -> list[str]:
    return (folder / name).read_text().splitlines()


def test_json_lines_are_kept_verbatim_one_file_per_process(tmp_path: Path) -> None:
    files = LogFiles(tmp_path)
    files.add("orders.web.1", LINE)
    files.add("orders.web.2", LINE.replace("request", "other"))
    files.close()
    assert written(tmp_path, "orders.web.1.log") == [LINE]
    assert written(tmp_path, "orders.web.2.log") == [LINE.replace("request", "other")]


def test_other_lines_are_wrapped_with_the_process_and_the_runner_s_utc_time(
    tmp_path: Path,
) -> None:
    files = LogFiles(tmp_path)
    before = time.time()
    files.add("postgres", 'LOG:  database system is ready "now"')
    files.close()
    after = time.time()
    [line] = written(tmp_path, "postgres.log")
    record = json.loads(line)
    assert record["event"] == 'LOG:  database system is ready "now"'
    assert record["level"] == "unknown"
    assert record["process"] == "postgres" and record["service"] == "postgres"
    assert record["timestamp"].endswith("Z")
    stamp = datetime.fromisoformat(record["timestamp"]).timestamp()
    assert before - 0.001 <= stamp <= after


def test_lines_reach_their_file_without_close(tmp_path: Path) -> None:
    files = LogFiles(tmp_path, flush_seconds=0.01)
    files.add("catalog.web.1", LINE)
    deadline = time.monotonic() + 5
    while not (tmp_path / "catalog.web.1.log").exists() or not written(
        tmp_path, "catalog.web.1.log"
    ):
        assert time.monotonic() < deadline, "not written within 5 s"
        time.sleep(0.01)
    files.close()


def test_only_log_files_and_their_numbered_rotations_are_a_process_s(tmp_path: Path) -> None:
    kept = ["orders.web.1.log.10", "orders.web.1.log.2", "orders.web.1.log", "mosaic.log"]
    strays = [".log", "notes.logs", "a.log1", "a.log11", "a.log.", "a.log.old", "a.txt"]
    for name in kept + strays:
        (tmp_path / name).write_text("")
    assert log_files(tmp_path) == {
        "orders.web.1": [tmp_path / name for name in kept[:3]],
        "mosaic": [tmp_path / "mosaic.log"],
    }


def test_a_file_rotates_by_size_keeping_the_newest_files(tmp_path: Path) -> None:
    files = LogFiles(tmp_path, file_bytes=1000, keep=2, flush_seconds=3600)
    numbered = [json.dumps({"event": f"line {n:03}", "pad": "x" * 60}) for n in range(60)]
    for line in numbered:
        files.add("cart.web.1", line)
        files._write_pending()  # one batch per line, as under a steady trickle
    files.close()
    names = ["cart.web.1.log.2", "cart.web.1.log.1", "cart.web.1.log"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert [p.name for p in log_files(tmp_path)["cart.web.1"]] == names  # oldest first
    stored = [
        json.loads(line)["event"]
        for path in log_files(tmp_path)["cart.web.1"]
        for line in path.read_text().splitlines()
    ]
    assert len(stored) > 20  # three files' worth, the newest lines, in order
    assert stored == [json.loads(line)["event"] for line in numbered[-len(stored) :]]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())


def test_the_folder_is_bounded_in_total_the_oldest_files_going_first(tmp_path: Path) -> None:
    files = LogFiles(tmp_path, file_bytes=1000, keep=3, total_bytes=5000, flush_seconds=3600)
    line = json.dumps({"event": "x" * 90})
    for _ in range(40):
        for process in ("a.web.1", "b.web.1", "c.web.1"):
            files.add(process, line)
            files._write_pending()
    files.close()
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total <= 5000
    # Each process still has its current file, which is never deleted while written.
    assert {"a.web.1.log", "b.web.1.log", "c.web.1.log"} <= {p.name for p in tmp_path.iterdir()}


def test_a_stalled_writer_drops_lines_and_says_how_many(tmp_path: Path) -> None:
    files = LogFiles(tmp_path, max_pending=3, flush_seconds=3600)
    files._thread = object()  # type: ignore[assignment]  # as if the writer were stuck
    for n in range(5):
        files.add("catalog.web.1", json.dumps({"event": n}))
    assert files.dropped == 2
    files._thread = None
    files._write_pending()
    files.close()
    assert len(written(tmp_path, "catalog.web.1.log")) == 3
    [note] = written(tmp_path, "mosaic.log")
    assert json.loads(note)["event"] == "2 lines were dropped: the log files could not keep up"


def test_add_costs_microseconds(tmp_path: Path) -> None:
    """The event loop's share of a line: far below what printing it costs (~5 µs)."""
    files = LogFiles(tmp_path, max_pending=1_000_000)
    began = time.perf_counter()
    for _ in range(100_000):
        files.add("frontend.web.1", LINE)
    per_line = (time.perf_counter() - began) / 100_000
    files.close()
    assert per_line < 5e-6, f"{per_line * 1e6:.2f} µs a line"


def test_a_wrapped_line_names_the_runner_s_process() -> None:
    record = json.loads(wrap("orders.relay.1", "Traceback (most recent call last):", 0))
    assert record == {
        "timestamp": "1970-01-01T00:00:00.000000Z",
        "level": "unknown",
        "event": "Traceback (most recent call last):",
        "service": "orders",
        "process": "orders.relay.1",
    }
