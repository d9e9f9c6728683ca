"""The runner's Prometheus target file: every running process's ops port, for file_sd.

`$MOSAIC_HOME/prometheus/targets.json` is rewritten (atomically: a reader sees the old or
the new file) whenever a process starts, stops, crashes or is scaled, so a Prometheus
pointed at it (`file_sd_configs`) follows the shop without a restart. Each target carries
the labels `service`, `process` and `replica`; the metrics themselves carry only what the
process knows (their own `service` label matches the target's).

A stopped process is left out; one crashed or restarting stays in, so it shows as down
(`up == 0`) instead of silently vanishing. So does a paused or wedged one, until the
runner's liveness probe replaces it (mosaic.liveness): its scrape times out. Readiness is
not a label here: a label that flips would start a new series for every metric of the
process each time; `mosaic status` shows it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def targets_file(home: Path) -> Path:
    return home / "prometheus" / "targets.json"


def targets(processes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """file_sd groups, one per process with an ops port (`Supervised.status()` entries)."""
    return [
        {
            "targets": [f"{HOST}:{process['ops_port']}"],
            "labels": {
                "service": str(process["service"]),
                "process": str(process["process"]),
                "replica": str(process["replica"]),
            },
        }
        for process in processes
        if process.get("ops_port") and process.get("state") != "stopped"
    ]


def write_targets(home: Path, processes: Iterable[dict[str, Any]]) -> Path:
    path = targets_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(targets(processes), indent=2))
    tmp.replace(path)  # Prometheus re-reads a changed file; never half of one
    return path
