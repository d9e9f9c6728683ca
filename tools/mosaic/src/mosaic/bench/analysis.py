"""Pure figures from the runs: saturation of a step, the knee, the rates to offer, ratios."""

from collections.abc import Mapping, Sequence
from typing import Any

from mosaic.bench.options import TARGETS, Budget, Saturation

# Online Boutique's load generator weights (browse 10, cart 3, currency 2, add 2, home 1,
# checkout 1); loadgen's mix follows them, plus a share of signed-in users.
MIX_WEIGHTS = {"browse": 10, "cart": 3, "currency": 2, "add": 2, "home": 1, "checkout": 1}


def error_rate(figures: Mapping[str, Any]) -> float:
    requests = figures.get("requests") or 0
    return (figures.get("failures") or 0) / requests if requests else 0.0


def dropped_share(figures: Mapping[str, Any], offered: float, seconds: float) -> float:
    arrivals = offered * seconds
    return (figures.get("dropped") or 0) / arrivals if arrivals > 0 else 0.0


def saturated_by(
    figures: Mapping[str, Any], offered: float, seconds: float, bounds: Saturation
) -> list[str]:
    """Why a step at `offered` arrivals/s is saturated; empty when it is not."""
    reasons = []
    if dropped_share(figures, offered, seconds) > bounds.max_dropped:
        reasons.append("dropped arrivals")
    if error_rate(figures) > bounds.max_error_rate:
        reasons.append("errors")
    p99 = figures.get("p99_ms")
    if p99 is not None and p99 > bounds.p99_limit_ms:
        reasons.append(f"p99 over {bounds.p99_limit_ms:g} ms")
    if offered > 0 and (figures.get("rps") or 0.0) < bounds.min_achieved * offered:
        reasons.append(f"achieved under {bounds.min_achieved:.0%} of offered")
    return reasons


def knee(steps: Sequence[Mapping[str, Any]], bounds: Saturation) -> dict[str, Any]:
    """The highest offered rate below the first saturated step whose p99 stays within
    knee_p99_factor x the lowest p99 of any step, achieving knee_achieved of the offered
    rate, under the error and drop bounds. The lowest p99 of any step, not the first
    step's: on a shared machine a neighbour can slow one step, and that must neither
    loosen the bound nor end the curve. A step: its figures (p99_ms, rps, requests,
    failures, dropped) with "offered" (arrivals/s) and "duration" (s).
    """
    definition = (
        f"highest offered rate below the first saturated step with p99 ≤ "
        f"{bounds.knee_p99_factor:g}x the lowest p99 of any step, achieved ≥ "
        f"{bounds.knee_achieved:.0%} of offered, errors ≤ {bounds.max_error_rate:.0%}, "
        f"dropped ≤ {bounds.max_dropped:.0%}"
    )
    result: dict[str, Any] = {"definition": definition, "offered_rps": None, "step": None}
    ordered = sorted(steps, key=lambda s: s["offered"])
    p99s = [s["p99_ms"] for s in ordered if s.get("p99_ms") is not None]
    if not p99s:
        return result
    reference = min(p99s)
    result["reference_p99_ms"] = reference
    for index, step in enumerate(ordered):
        offered, p99 = step["offered"], step.get("p99_ms")
        if saturated_by(step, offered, step["duration"], bounds):
            break
        within = (
            p99 is not None
            and p99 <= bounds.knee_p99_factor * reference
            and (step.get("rps") or 0.0) >= bounds.knee_achieved * offered
            and error_rate(step) <= bounds.max_error_rate
            and dropped_share(step, offered, step["duration"]) <= bounds.max_dropped
        )
        if within:
            result.update(offered_rps=offered, achieved_rps=step.get("rps"), p99_ms=p99)
            result["step"] = index + 1
    return result


def mix_capacity(closed: Mapping[str, Mapping[str, Any]]) -> float | None:
    """Mix actions per second the shop could serve, from each flow's closed-loop rate:
    the weighted harmonic mean (time per action, weighted by the mix's shares)."""
    seconds, weights = 0.0, 0
    for flow, weight in MIX_WEIGHTS.items():
        rps = (closed.get(flow) or {}).get("rps")
        if rps:
            seconds += weight / rps
            weights += weight
    return weights / seconds if seconds else None


def step_rates(budget: Budget, capacity: float | None) -> list[float]:
    """The offered rates, lowest first: from --start-rate (else a quarter of the estimated
    capacity, else 5/s), times step_factor each step, at most max_steps."""
    start = budget.start_rate or (capacity / 4 if capacity else 5.0)
    start = max(1.0, round(start, 1))
    return [round(start * budget.step_factor**i, 1) for i in range(budget.max_steps)]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def ratios(micro: Mapping[str, Any], floor: Mapping[str, Any]) -> dict[str, Any]:
    """Microservices ÷ in-process per flow: CPU per request (services only, and with
    Postgres and Valkey), p50 and p99 of the closed-loop runs, and p50/p99 of each flow
    inside the mix at the lowest step both modes ran (same offered rate, no queueing)."""
    out: dict[str, Any] = {}
    low_micro, low_floor = _lowest_common_step(micro.get("steps", []), floor.get("steps", []))
    floor_flows = floor.get("closed", {})
    for flow in [f for f in micro.get("closed", {}) if f in floor_flows]:
        m, f = micro["closed"][flow], floor["closed"][flow]
        none = {"services": None, "with_backing": None}
        mc = (m.get("cpu") or {}).get("per_request") or none
        fc = (f.get("cpu") or {}).get("per_request") or none
        row: dict[str, Any] = {
            "cpu_per_request": ratio(mc["with_backing"], fc["with_backing"]),
            "cpu_per_request_services": ratio(mc["services"], fc["services"]),
            "p50": ratio(m["p50_ms"], f["p50_ms"]),
            "p99": ratio(m["p99_ms"], f["p99_ms"]),
            "low_load_p50": None,
            "low_load_p99": None,
        }
        if low_micro and low_floor:
            lm, lf = low_micro["flows"].get(flow), low_floor["flows"].get(flow)
            if lm and lf:
                row["low_load_p50"] = ratio(lm.get("p50_ms"), lf.get("p50_ms"))
                row["low_load_p99"] = ratio(lm.get("p99_ms"), lf.get("p99_ms"))
        if flow in TARGETS:
            target = TARGETS[flow]
            row["targets"] = {
                "cpu": target["cpu"],
                "p50": target["p50"],
                "cpu_met": _within(row["cpu_per_request"], target["cpu"]),
                "p50_met": _within(row["p50"], target["p50"]),
                "low_load_p50_met": _within(row["low_load_p50"], target["p50"]),
            }
        out[flow] = row
    low_rate = low_micro["offered"] if low_micro else None
    mix = [
        {
            "offered_rps": m["offered"],
            "cpu_per_request": ratio(_cpu(m, "with_backing"), _cpu(f, "with_backing")),
            "cpu_per_request_services": ratio(_cpu(m, "services"), _cpu(f, "services")),
            "p50": ratio(m.get("p50_ms"), f.get("p50_ms")),
            "p99": ratio(m.get("p99_ms"), f.get("p99_ms")),
        }
        for m, f in _common_steps(micro.get("steps", []), floor.get("steps", []))
        if not m.get("saturated_by") and not f.get("saturated_by")  # queues, not costs
    ]
    return {"flows": out, "low_load_offered_rps": low_rate, "mix_steps": mix}


def _cpu(run: Mapping[str, Any], which: str) -> float | None:
    value = ((run.get("cpu") or {}).get("per_request") or {}).get(which)
    return float(value) if value is not None else None


def _within(value: float | None, target: float) -> bool | None:
    return None if value is None else value <= target


def _common_steps(
    micro: Sequence[Mapping[str, Any]], floor: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """The steps both modes ran at the same offered rate, lowest first."""
    rates = {s["offered"]: s for s in floor}
    ordered = sorted(micro, key=lambda s: s["offered"])
    return [(step, rates[step["offered"]]) for step in ordered if step["offered"] in rates]


def _lowest_common_step(
    micro: Sequence[Mapping[str, Any]], floor: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    common = _common_steps(micro, floor)
    return common[0] if common else (None, None)
