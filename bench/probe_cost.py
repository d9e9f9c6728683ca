"""What the runner's continuous probing costs on the idle shop (docs/performance.md).

Run: .venv/bin/python bench/probe_cost.py [--seconds 60]
The shop starts on one home (the first start is cold), once per setting of MOSAIC_LIVENESS:
the default numbers (mosaic.probes: /healthz and /readyz every 5 s per process) and a fast
one (every 0.5 s, ten times the probes). Once ready and settled, the CPU seconds of the runner
and of the whole shop (every process `mosaic status` lists, Postgres' backends included) are
read over the same window. The runner's cost per probe is the difference over the
difference in probes; the default's cost is that times its rate. CPU time, not wall time:
a busy machine slows the window, not what the runner spends in it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil
from mosaic.ports import free_port
from mosaic.probes import LIVENESS, READINESS
from mosaic_testing import UpProcess

SETTINGS = {"default": "", "fast": "0.5,0.5,3"}
SETTLE = 15.0  # seconds after the ready line: start-up work, the dashboard's edges


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def shop_cpu(up: UpProcess) -> float:
    total = 0.0
    for info in up.processes().values():
        try:
            process = psutil.Process(info["pid"])
            family = [process, *process.children(recursive=True)]
            total += sum(cpu(member) for member in family)
        except (psutil.NoSuchProcess, TypeError):
            continue
    return total


def measure(home: Path, liveness: str, seconds: float) -> dict[str, float]:
    with UpProcess(home, free_port(), extra_env={"MOSAIC_LIVENESS": liveness}) as up:
        up.wait_ready(timeout=180)
        time.sleep(SETTLE)
        assert up.process is not None
        runner = psutil.Process(up.process.pid)
        watched = sum(1 for i in up.processes().values() if i.get("ops_port"))
        before = (cpu(runner), shop_cpu(up), time.monotonic())
        time.sleep(seconds)
        after = (cpu(runner), shop_cpu(up), time.monotonic())
        assert up.stop() == 0, up.output_tail()
    wall = after[2] - before[2]
    period = float(liveness.split(",")[0]) if liveness else LIVENESS.period
    readiness_period = min(period, READINESS.period)
    probes = watched * (1 / period + 1 / readiness_period)
    return {
        "processes": watched,
        "probes_per_s": probes,
        "runner_pct": 100 * (after[0] - before[0]) / wall,
        "shop_pct": 100 * (after[1] - before[1]) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mosaic-probe-cost-") as folder:
        home = Path(folder) / "home"
        results = {name: measure(home, value, args.seconds) for name, value in SETTINGS.items()}
    for name, r in results.items():
        print(
            f"{name}: {r['processes']:.0f} processes, {r['probes_per_s']:.1f} probes/s; "
            f"runner {r['runner_pct']:.2f} % of a core, whole shop {r['shop_pct']:.1f} %"
        )
    fast, slow = results["fast"], results["default"]
    extra = fast["probes_per_s"] - slow["probes_per_s"]
    per_probe = (fast["runner_pct"] - slow["runner_pct"]) / 100 / extra
    shop_per_probe = (fast["shop_pct"] - slow["shop_pct"]) / 100 / extra
    print(
        f"per probe: runner {per_probe * 1e6:.0f} µs CPU, "
        f"whole shop {shop_per_probe * 1e6:.0f} µs; "
        f"the default's probing: runner {100 * per_probe * slow['probes_per_s']:.2f} % of a "
        f"core, whole shop {100 * shop_per_probe * slow['probes_per_s']:.2f} %"
    )


if __name__ == "__main__":
    main()
