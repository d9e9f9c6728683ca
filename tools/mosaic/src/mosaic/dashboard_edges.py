"""The dashboard's service graph for `mosaic up`: computed in a child process, kept in
`$MOSAIC_HOME`.

The allowlisted calls come from importing every service's routes (`collect_policy`). Done
in the runner, that cost 0.8 s of CPU before anything else started and kept 65 MiB more
RSS in the runner for as long as the shop ran. A child process computes them after the
shop is ready and exits; the result is kept, keyed by the services' files (path, size,
mtime), so a start with the same code reads a file instead.

Run as `python -m mosaic.dashboard_edges SERVICES_DIR`: the edges as JSON on stdout.
"""

import asyncio
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

from mosaic.dashboard_graph import Edge, graph_edges
from mosaic.home import venv_bin
from mosaic.services import Service, discover_services

CACHE = "dashboard-edges.json"


def fingerprint(services: list[Service]) -> str:
    """Changes when any file the routes (and so the allowlists) come from changes."""
    digest = hashlib.sha256()
    for service in services:
        for path in sorted(
            [service.folder / "pyproject.toml", *service.folder.glob("src/**/*.py")]
        ):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


async def service_edges(home: Path, services_dir: Path, services: list[Service]) -> list[Edge]:
    """The edges from the cache when the services are unchanged, else from a child."""
    cache = home / CACHE
    key = fingerprint(services)
    try:
        kept = json.loads(cache.read_text())
        if kept["fingerprint"] == key:
            return [Edge(**edge) for edge in kept["edges"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or unreadable: compute them
    child = await asyncio.create_subprocess_exec(
        str(venv_bin() / "python"),
        *("-m", "mosaic.dashboard_edges", str(services_dir)),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await child.communicate()
    except asyncio.CancelledError:  # `up` is stopping
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    try:
        if child.returncode != 0:
            raise ValueError(f"exit code {child.returncode}")
        found = [Edge(**edge) for edge in json.loads(out)]
    except (ValueError, TypeError):
        return []  # the graph stays without edges; the dashboard's traces do not need them
    cache.write_text(json.dumps({"fingerprint": key, "edges": json.loads(out)}))
    return found


def main() -> None:
    edges = graph_edges(discover_services(Path(sys.argv[1])))
    print(json.dumps([dataclasses.asdict(edge) for edge in edges]))


if __name__ == "__main__":
    main()
