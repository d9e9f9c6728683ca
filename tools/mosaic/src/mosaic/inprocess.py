"""`mosaic up --in-process`: every service's processes in one host process.

The benchmark's floor, not a way to run the shop in production: the same services, code
and databases, but the calls between services skip the network (`chassis.inprocess`), so
`mosaic bench --compare` can show what the service boundaries cost. The runner does
everything else as usual (backing servers, PKI, release phases, scheduled jobs); only the
Procfile processes that name a factory in `[tool.mosaic] app` (`Service.apps`) are hosted
together, by `python -m chassis.host SPEC`, each with its own environment, ports and ops port.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaic.plan import ProcessPlan
from mosaic.state import run_dir

HOST_SERVICE = "shop"  # how the host process shows in `mosaic status` and the logs
HOST_PROCESS = "web"
HOST_MODULE = "chassis.host"


def host_name() -> str:
    return f"{HOST_SERVICE}.{HOST_PROCESS}.1"


@dataclass(frozen=True)
class HostedUnit:
    """One process run inside the host: its plan, factory and full environment."""

    plan: ProcessPlan
    factory: str
    env: Mapping[str, str]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.plan.name,
            "service": self.plan.service.name,
            "process": self.plan.kind,
            "port": self.plan.port if self.plan.kind == "web" else None,
            "ops_port": self.plan.ops_port,
        }


def write_spec(home: Path, units: list[HostedUnit]) -> Path:
    """The host's spec, readable by our user only: the environments hold passwords."""
    path = run_dir(home) / "in-process.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    spec = {
        "units": [
            {
                "service": u.plan.service.name,
                "process": u.plan.kind,
                "factory": u.factory,
                "env": dict(u.env),
            }
            for u in units
        ]
    }
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(spec, out)
    tmp.replace(path)
    return path


def forget_spec(home: Path) -> None:
    (run_dir(home) / "in-process.json").unlink(missing_ok=True)
