"""What keeping the log files costs the runner's output path: lines/s through `mosaic up`'s
own pump (spawn, read each line, print it with its prefix) with and without the files.

Run: .venv/bin/python bench/log_files.py [--lines 200000] [--children 4] [--rounds 5]
Each child writes --lines JSON lines of ~300 bytes (a canonical request line's size) as
fast as it can; the runner's code reads them all, printing to /dev/null (as when piped),
with and without LogFiles writing them under a temporary folder. Rounds alternate the two
setups; the median of each is printed, with the runner's CPU per line (its threads too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from mosaic.children import Command, spawn
from mosaic.log_files import LogFiles
from mosaic.logs import LINE_LIMIT, LogStream

LINE = json.dumps(
    {
        "method": "GET",
        "route": "/product/{product_id}",
        "status": 200,
        "duration_ms": 12.34,
        "event": "request",
        "request_id": "5b1a6dc6ec01b6e1",
        "trace_id": "99a10c3baba06e9c942fb6b4025e03bc",
        "level": "info",
        "logger": "chassis.request",
        "timestamp": "2026-12-06T18:27:01.123456Z",
        "service": "frontend",
        "version": "0.1.0",
    },
    separators=(",", ":"),
)
WRITER = (
    "import sys\n"
    "line = sys.argv[1] + '\\n'\n"
    "for _ in range(int(sys.argv[2])): sys.stdout.write(line)"
)


async def one_round(lines: int, children: int, folder: Path | None) -> tuple[float, float]:
    """(lines/s, runner CPU µs per line) for `children` writers of `lines` lines each."""
    with Path("/dev/null").open("w") as devnull:  # noqa: ASYNC230 (opened before timing)
        files = LogFiles(folder) if folder is not None else None
        stream = LogStream(devnull, pretty=False, files=files)
        command = Command([sys.executable, "-c", WRITER, LINE, str(lines)])
        cpu, began = time.process_time(), time.perf_counter()
        processes = [await spawn(command, LINE_LIMIT) for _ in range(children)]
        await asyncio.gather(
            *(
                stream.pump(f"frontend.web.{n}", p.stdout, deque(maxlen=1))
                for n, p in enumerate(processes, 1)
                if p.stdout is not None
            )
        )
        for process in processes:
            await process.wait()
        stream.close()  # the files' last batch is part of the cost
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu
    total = lines * children
    return total / seconds, cpu / total * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines per child")
    parser.add_argument("--children", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"without files": [], "with files": []}
    with tempfile.TemporaryDirectory() as temporary:
        for n in range(args.rounds):
            for name in results:
                folder = Path(temporary) / f"logs-{n}" if name == "with files" else None
                results[name].append(asyncio.run(one_round(args.lines, args.children, folder)))
    print(
        f"{args.children} children x {args.lines} lines of {len(LINE)} bytes, "
        f"median of {args.rounds} rounds"
    )
    for name, rounds in results.items():
        rate = statistics.median(r[0] for r in rounds)
        cpu = statistics.median(r[1] for r in rounds)
        print(f"{name:>13}: {rate:>9,.0f} lines/s  {cpu:5.2f} µs runner CPU a line")


if __name__ == "__main__":
    main()
