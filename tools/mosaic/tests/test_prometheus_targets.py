"""The runner's Prometheus target file: what file_sd reads, and when a process is left out."""

from __future__ import annotations

import json
from pathlib import Path

from mosaic.prometheus_targets import targets_file, write_targets


def process(name: str, state: str, ops_port: int | None, replica: int = 1) -> dict[str, object]:
    service, kind = name.split(".")[:2]
    return {
        "name": name,
        "service": service,
        "process": kind,
        "replica": replica,
        "ops_port": ops_port,
        "state": state,
    }


def test_every_running_process_s_ops_port_is_a_target_with_its_labels(tmp_path: Path) -> None:
    path = write_targets(
        tmp_path,
        [
            process("catalog.web.1", "ready", 9101),
            process("catalog.web.2", "crashed", 9102, replica=2),  # shows as down, not gone
            process("orders.relay.1", "starting", 9103),
            process("cart.web.1", "stopped", 9104),
            process("postgres.server.1", "ready", None),
        ],
    )
    assert path == targets_file(tmp_path) == tmp_path / "prometheus" / "targets.json"
    assert json.loads(path.read_text()) == [
        {
            "targets": ["127.0.0.1:9101"],
            "labels": {"service": "catalog", "process": "web", "replica": "1"},
        },
        {
            "targets": ["127.0.0.1:9102"],
            "labels": {"service": "catalog", "process": "web", "replica": "2"},
        },
        {
            "targets": ["127.0.0.1:9103"],
            "labels": {"service": "orders", "process": "relay", "replica": "1"},
        },
    ]


def test_a_rewrite_replaces_the_file_whole(tmp_path: Path) -> None:
    write_targets(tmp_path, [process("catalog.web.1", "ready", 9101)])
    write_targets(tmp_path, [process("catalog.web.1", "stopped", 9101)])
    assert json.loads(targets_file(tmp_path).read_text()) == []
    assert [p.name for p in targets_file(tmp_path).parent.iterdir()] == ["targets.json"]
