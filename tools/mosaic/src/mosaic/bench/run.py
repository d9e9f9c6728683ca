"""`mosaic bench` from start to end: the modes (interleaved, or one after the other), then
the results, the plot and the tables."""

import os
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from mosaic.bench.analysis import ratios, step_rates
from mosaic.bench.options import FLOOR, IN_PROCESS, MICROSERVICES, BenchOptions, Budget
from mosaic.bench.pages import measure_page, pages_summary
from mosaic.bench.plot import plot_steps
from mosaic.bench.progress import PhaseProgress
from mosaic.bench.report import print_report
from mosaic.bench.results import (
    SCHEMA,
    machine,
    missing_fields,
    options_json,
    utc_now,
    write_results,
)
from mosaic.bench.runner import ModeBench, planned_seconds
from mosaic.bench.targets import print_targets, targets_json
from mosaic.bench.wrk import ensure_wrk
from mosaic.errors import MosaicError

RESULTS_FILE = "results.json"
PLOT_FILE = "latency-vs-load.png"


def run_bench(options: BenchOptions, repo: Path, console: Console) -> dict[str, Any]:
    """Run every mode, write results.json and the plot into options.out, print the tables.

    Ctrl-C (or SIGTERM) stops the load and every shop it started before returning.
    """
    options.out.mkdir(parents=True, exist_ok=True)
    began, wall = utc_now(), time.monotonic()
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "started_at": began.isoformat(),
        "finished_at": None,
        "wall_seconds": None,
        "machine": machine(repo),
        "options": options_json(options),
        "modes": {},
        "ratios": None,
        "plot": None,
    }
    starts = options.url is None and options.home is None
    planned = planned_seconds(options.budget, len(options.modes), starts, options.floor)
    shown = [*options.modes, *([FLOOR] if options.floor else [])]
    console.print(
        f"mosaic bench: {', '.join(shown)}; about {planned / 60:.0f} min planned; "
        f"results in {options.out}",
        markup=False,
        highlight=False,
    )
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with PhaseProgress(planned, console) as progress:
            # wrk before any shop starts: a missing one is said at once, not after minutes
            wrk = ensure_wrk(console.print) if options.floor else ""
            benches = [ModeBench(mode, options, progress) for mode in options.modes]
            floor = ModeBench(FLOOR, options, progress) if options.floor else None
            if floor is not None:
                results["floor"] = floor.result
            groups = [benches] if options.interleave else [[bench] for bench in benches]
            rates: list[float] | None = None
            for index, group in enumerate(groups or [[]]):
                for bench in group:
                    results["modes"][bench.mode] = bench.result  # filled in as it runs
                pages = (floor, wrk) if floor is not None and index == 0 else None
                rates = _run_group(group, options.budget, rates, pages)
    except MosaicError as error:
        _finish(results, options, wall, incomplete=error.message)
        raise
    except KeyboardInterrupt:
        _finish(results, options, wall, incomplete="interrupted")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    modes = results["modes"]
    if MICROSERVICES in modes and IN_PROCESS in modes:
        results["ratios"] = ratios(modes[MICROSERVICES], modes[IN_PROCESS])
    if options.floor:
        product = modes.get(MICROSERVICES, {}).get("page")
        results["pages"] = pages_summary(product, results["floor"].get("page"))
    results["targets"] = targets_json(results)
    title = f"mosaic bench, {results['started_at'][:19]}Z, {results['machine']['cpu_count']} CPUs"
    if modes:
        results["plot"] = str(plot_steps(modes, options.out / PLOT_FILE, title))
    _finish(results, options, wall)
    if modes:
        print_report(console, results)
    print_targets(console, results)
    console.print(f"Results: {options.out / RESULTS_FILE}", markup=False, highlight=False)
    if modes:
        console.print(f"Plot:    {options.out / PLOT_FILE}", markup=False, highlight=False)
    if missing := missing_fields(results):
        console.print(f"[yellow]Missing figures: {', '.join(missing[:10])}[/]")
    return results


def _run_group(
    benches: list[ModeBench],
    budget: Budget,
    rates: list[float] | None,
    pages: tuple[ModeBench, str] | None = None,
) -> list[float]:
    """The phases of these modes, interleaved (each phase mode after mode: both shops meet
    the same machine); their shops stopped at the end, also on errors and Ctrl-C.

    With `pages` (the floor page's bench, and wrk), the floor starts with the shops and,
    after the closed loops, the pages phase runs: the product page, then the floor page,
    then the product page open loop at half the rate it achieved.

    The step load offers the first mode's rates (from its capacity, unless `rates` came
    from an earlier group) to every mode, and the last mode (the in-process floor, which
    saturates later) one step more. Returns the rates offered.
    """
    shops = [*benches, *([pages[0]] if pages else [])]
    try:
        for bench in shops:
            bench.launch()  # every start-up at once
        for bench in shops:
            bench.wait_ready()
        for bench in shops:
            bench.begin()  # idle, once no start-up disturbs it
        for bench in benches:
            bench.warm_up()
        for flow in budget.flows:
            for bench in benches:
                bench.closed(flow)
        if pages is not None:
            _pages(benches, pages[0], budget, pages[1])
        if not benches:
            return []
        planned = rates or step_rates(budget, benches[0].capacity)
        extended = [*planned, round(planned[-1] * budget.step_factor, 1)]
        for index, rate in enumerate(extended, start=1):
            for bench in benches:
                last = bench is benches[-1] and bench.mode == IN_PROCESS
                offered = extended if last else planned
                if index <= len(offered) and not bench.saturated:
                    bench.step(index, rate, len(offered))
        for bench in benches:
            last = bench is benches[-1] and bench.mode == IN_PROCESS
            bench.end(extended if last else planned)
        return planned
    finally:
        for bench in shops:
            bench.close()


def _pages(benches: list[ModeBench], floor: ModeBench, budget: Budget, wrk: str) -> None:
    products = [bench for bench in benches if bench.mode == MICROSERVICES]
    for bench in [*products, floor]:
        measure_page(bench, wrk, budget)
    floor.end([])
    for bench in products:
        if rps := bench.result["page"].get("rps"):
            bench.half_rate(round(rps / 2, 1))


def _finish(results: dict[str, Any], options: BenchOptions, wall: float, **extra: Any) -> None:
    results["finished_at"] = utc_now().isoformat()
    results["wall_seconds"] = round(time.monotonic() - wall, 1)
    results["machine"]["load_average"]["end"] = list(os.getloadavg())
    results.update(extra)
    write_results(options.out / RESULTS_FILE, results)
