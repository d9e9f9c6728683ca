"""The dashboard's edges under `mosaic up`: computed by a child process, kept until the
services' files change."""

import json
import os
from pathlib import Path

from mosaic.dashboard_edges import CACHE, fingerprint, service_edges
from mosaic.dashboard_graph import graph_edges
from mosaic.home import services_dir
from mosaic.services import Service


async def test_the_child_draws_the_same_edges_and_they_are_kept(
    tmp_path: Path, services: list[Service]
) -> None:
    expected = graph_edges(services)
    assert await service_edges(tmp_path, services_dir(), services) == expected
    kept = json.loads((tmp_path / CACHE).read_text())
    assert kept["fingerprint"] == fingerprint(services)
    # Kept: a second start reads the file (a doctored one shows that it was read).
    kept["edges"] = kept["edges"][:1]
    (tmp_path / CACHE).write_text(json.dumps(kept))
    assert await service_edges(tmp_path, services_dir(), services) == expected[:1]


def test_a_changed_route_file_changes_the_fingerprint(services: list[Service]) -> None:
    before = fingerprint(services)
    route = next(services[0].folder.glob("src/**/*.py"))
    stat = route.stat()
    os.utime(route, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    try:
        assert fingerprint(services) != before
    finally:
        os.utime(route, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint(services) == before
