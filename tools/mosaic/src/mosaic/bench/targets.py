"""Issue 16's targets, each met or not with its figure, from one run's results."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console

from mosaic.bench.options import MICROSERVICES

GIB = 2**30
MS, TIMES = "{:.1f} ms", "{:.2f}x"


@dataclass(frozen=True)
class Target:
    name: str
    figure: str  # the run's figure, or "not measured"
    met: bool | None  # None: the run did not measure it


def issue16_targets(results: Mapping[str, Any]) -> list[Target]:
    """Product page CPU, pages/s, share of the floor, p95 at half rate; checkout CPU; idle
    RSS; the boundary ratios of every flow."""
    pages = results.get("pages") or {}
    micro = (results.get("modes") or {}).get(MICROSERVICES) or {}
    half = micro.get("half_rate") or {}
    checkout = (micro.get("closed") or {}).get("checkout") or {}
    checkout_cpu = _get(checkout, "cpu", "per_request", "with_backing")
    checkout_ms = checkout_cpu * 1000 if checkout_cpu else None
    idle_rss = _get(micro, "rss", "idle", "with_backing")
    found = [
        _at_most("product page shop CPU ≤ 5 ms", pages.get("product_cpu_ms"), 5.0, MS),
        _at_least("product pages/s ≥ 300 (wrk, 32 connections)", pages.get("product_rps"), 300),
        _at_least("product pages/s ≥ 40 % of the floor's", pages.get("fraction_of_floor"), 0.4),
        _at_most("product page p95 ≤ 30 ms at half that rate", half.get("p95_ms"), 30.0, MS),
        _at_most("checkout shop CPU ≤ 35 ms", checkout_ms, 35.0, MS),
        _at_most("idle RSS sum ≤ 1 GiB", idle_rss / GIB if idle_rss else None, 1.0, "{:.2f} GiB"),
    ]
    flows = (results.get("ratios") or {}).get("flows") or {}
    for flow, row in flows.items():
        cpu, p50 = row.get("cpu_per_request"), row.get("p50")
        found.append(_at_most(f"{flow}: CPU ≤ 2x in-process", cpu, 2.0, TIMES))
        found.append(_at_most(f"{flow}: p50 ≤ 3x in-process", p50, 3.0, TIMES))
    if not flows:
        found.append(Target("boundary ratios ≤ 2x CPU, ≤ 3x p50", "not measured", None))
    return found


def targets_json(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [asdict(target) for target in issue16_targets(results)]


def target_lines(results: Mapping[str, Any]) -> list[str]:
    marks = {True: "met", False: "NOT met", None: "not measured"}
    return [f"{marks[t.met]:>12}  {t.name}: {t.figure}" for t in issue16_targets(results)]


def print_targets(console: Console, results: Mapping[str, Any]) -> None:
    pages = results.get("pages") or {}
    if pages:
        console.print("\nPages (wrk, 32 connections, closed loop; shop CPU per page):")
        for who in ("product", "floor"):
            rps, cpu, p95 = (pages.get(f"{who}_{k}") for k in ("rps", "cpu_ms", "p95_ms"))
            console.print(
                f"  {who:>8}: {_text(rps, '{:.0f}')} pages/s, {_text(cpu, '{:.2f}')} ms CPU, "
                f"p95 {_text(p95, '{:.0f}')} ms",
                markup=False,
            )
    console.print("\nIssue 16's targets:")
    for line in target_lines(results):
        console.print(line, markup=False, highlight=False)


def _at_most(name: str, value: float | None, bound: float, shape: str = "{:.2f}") -> Target:
    return _target(name, value, shape, None if value is None else value <= bound)


def _at_least(name: str, value: float | None, bound: float) -> Target:
    shape = "{:.0%}" if bound < 1 else "{:.0f}"
    return _target(name, value, shape, None if value is None else value >= bound)


def _target(name: str, value: float | None, shape: str, met: bool | None) -> Target:
    return Target(name, _text(value, shape), met)


def _text(value: float | None, shape: str) -> str:
    return "not measured" if value is None else shape.format(value)


def _get(data: Mapping[str, Any], *path: str) -> float | None:
    for key in path:
        data = data.get(key) or {}
    return data if isinstance(data, int | float) else None
