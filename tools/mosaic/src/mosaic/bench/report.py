"""The tables printed at the end: per flow, per step, memory, and the ratios."""

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from mosaic.bench.options import TARGETS

MIB = 1024 * 1024
LATE_NOTE = 0.05  # share of arrivals the load generator started late, worth a note


def print_report(console: Console, results: Mapping[str, Any]) -> None:
    modes: Mapping[str, Any] = results["modes"]
    console.print(_closed_table(modes))
    console.print(_steps_table(modes))
    console.print(_memory_table(modes))
    if results.get("ratios"):
        console.print(_ratios_table(results["ratios"]))


def _closed_table(modes: Mapping[str, Any]) -> Table:
    table = Table(title="Closed loop: each flow alone", title_justify="left")
    for column in ("flow", "mode", "users", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"):
        table.add_column(column, justify="left" if column in ("flow", "mode") else "right")
    table.add_column("CPU ms/req\nservices", justify="right")
    table.add_column("CPU ms/req\n+backing", justify="right")
    table.add_column("cores busy\nshop/machine", justify="right")
    flows = list(dict.fromkeys(f for figures in modes.values() for f in figures["closed"]))
    for flow in flows:
        for mode, figures in modes.items():
            run = figures["closed"].get(flow)
            if run is None:
                continue
            per_request = (run.get("cpu") or {}).get("per_request") or {}
            table.add_row(
                _flow_name(flow),
                mode,
                str(run["users"]),
                _num(run["rps"], 1),
                _num(run["p50_ms"], 1),
                _num(run["p95_ms"], 1),
                _num(run["p99_ms"], 1),
                _errors(run),
                _ms(per_request.get("services")),
                _ms(per_request.get("with_backing")),
                _cores(run.get("cpu")),
            )
    return table


def _steps_table(modes: Mapping[str, Any]) -> Table:
    table = Table(title="Step load: the mix, open loop", title_justify="left")
    columns = ("mode", "step", "offered/s", "achieved/s", "p50 ms", "p95 ms", "p99 ms")
    for column in columns:
        table.add_column(column, justify="left" if column == "mode" else "right")
    for column in ("dropped", "errors", "CPU ms/req\n+backing", "cores busy\nshop/machine", "note"):
        table.add_column(column, justify="left" if column == "note" else "right")
    for mode, figures in modes.items():
        knee_step = (figures.get("knee") or {}).get("step")
        for step in figures["steps"]:
            note = ", ".join(step.get("saturated_by") or [])
            late, arrivals = step.get("late_arrivals") or 0, step["offered"] * step["duration"]
            if arrivals and late / arrivals > LATE_NOTE:
                note += ("; " if note else "") + f"{late} arrivals late: the load generator lagged"
            if step["step"] == knee_step:
                note = "knee" + (f"; {note}" if note else "")
            table.add_row(
                mode,
                str(step["step"]),
                _num(step["offered"], 1),
                _num(step["rps"], 1),
                _num(step["p50_ms"], 1),
                _num(step["p95_ms"], 1),
                _num(step["p99_ms"], 1),
                str(step.get("dropped") or 0),
                _errors(step),
                _ms(((step.get("cpu") or {}).get("per_request") or {}).get("with_backing")),
                _cores(step.get("cpu")),
                note,
            )
    return table


def _memory_table(modes: Mapping[str, Any]) -> Table:
    title = "Memory (MiB): RSS summed per service; PSS splits shared pages between sharers"
    table = Table(title=title, title_justify="left")
    table.add_column("service")
    for mode in modes:
        for moment in ("idle", "loaded", "after"):
            table.add_column(f"{mode}\n{moment}", justify="right")
    moments = ("idle", "before_load", "after")
    services = sorted(
        {s for f in modes.values() for m in moments for s in f["rss"][m]["per_service"]}
    )
    for service in [*services, "services", "with_backing"]:
        cells = []
        for figures in modes.values():
            for moment in moments:
                rss = figures["rss"][moment]
                value = rss.get(service) if service in ("services", "with_backing") else None
                value = rss["per_service"].get(service) if value is None else value
                cells.append(_num(value / MIB, 0) if value is not None else "-")
        name = {"services": "all services", "with_backing": "all + backing"}.get(service, service)
        table.add_row(name, *cells)
    for total, name in (("services", "all services, PSS"), ("with_backing", "all + backing, PSS")):
        cells = []
        for figures in modes.values():
            for moment in moments:
                pss = figures["rss"][moment].get("pss") or {}
                cells.append(_num(pss[total] / MIB, 0) if total in pss else "-")
        table.add_row(name, *cells)
    return table


def _ratios_table(ratios: Mapping[str, Any]) -> Table:
    low = ratios.get("low_load_offered_rps")
    table = Table(
        title="Microservices ÷ in-process (closed loop; low load = each flow in the mix at "
        + (f"{low:g}/s)" if low else "the lowest step)"),
        title_justify="left",
    )
    table.add_column("flow")
    for column in ("CPU/req\n+backing", "CPU/req\nservices", "p50", "p99"):
        table.add_column(column, justify="right")
    table.add_column("p50\nlow load", justify="right")
    table.add_column("p99\nlow load", justify="right")
    table.add_column("target", justify="left")
    for flow, row in ratios["flows"].items():
        target = TARGETS.get(flow)
        met = row.get("targets") or {}
        table.add_row(
            _flow_name(flow),
            _ratio(row["cpu_per_request"], target["cpu"] if target else None),
            _ratio(row["cpu_per_request_services"], None),
            _ratio(row["p50"], target["p50"] if target else None),
            _ratio(row["p99"], None),
            _ratio(row.get("low_load_p50"), target["p50"] if target else None),
            _ratio(row.get("low_load_p99"), None),
            _target_text(met) if target else "",
            style="bold" if target else None,
        )
    for step in ratios.get("mix_steps") or []:
        table.add_row(
            f"mix at {step['offered_rps']:g}/s",
            _ratio(step["cpu_per_request"], None),
            _ratio(step["cpu_per_request_services"], None),
            _ratio(step["p50"], None),
            _ratio(step["p99"], None),
            "",
            "",
            "open loop, every flow",
            style="dim",
        )
    return table


def _target_text(met: Mapping[str, Any]) -> str:
    def mark(ok: bool | None) -> str:
        return "[green]met[/]" if ok else ("[red]missed[/]" if ok is False else "?")

    cpu, p50 = mark(met.get("cpu_met")), mark(met.get("p50_met"))
    low = mark(met.get("low_load_p50_met"))
    return f"CPU ≤ {met['cpu']:g}x: {cpu}; p50 ≤ {met['p50']:g}x: {p50} (low load: {low})"


def _flow_name(flow: str) -> str:
    return f"[bold]{flow}[/]" if flow in TARGETS else flow


def _ratio(value: float | None, target: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}x"
    if target is None:
        return text
    return f"[green]{text}[/]" if value <= target else f"[red]{text}[/]"


def _errors(run: Mapping[str, Any]) -> str:
    failures = run.get("failures") or 0
    return f"{failures} ({run.get('error_rate', 0):.1%})" if failures else "0"


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cores(cpu: Mapping[str, Any] | None) -> str:
    """How many cores the shop kept busy, of how many the whole machine did: on a shared
    machine, a shop far from its share was waiting for CPU, not using it."""
    if not cpu or cpu.get("cores_busy") is None:
        return "-"
    machine = cpu.get("machine_cores_busy")
    return f"{cpu['cores_busy']:.2f}/" + ("-" if machine is None else f"{machine:.2f}")


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}"
