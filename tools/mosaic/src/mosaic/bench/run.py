"""`mosaic bench` from start to end: the modes (interleaved, or one after the other), then
the results, the plot and the tables."""

import os
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from mosaic.bench.analysis import ratios, step_rates
from mosaic.bench.options import IN_PROCESS, MICROSERVICES, BenchOptions, Budget
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
    planned = planned_seconds(options.budget, len(options.modes), starts)
    console.print(
        f"mosaic bench: {', '.join(options.modes)}; about {planned / 60:.0f} min planned; "
        f"results in {options.out}",
        markup=False,
        highlight=False,
    )
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with PhaseProgress(planned, console) as progress:
            benches = [ModeBench(mode, options, progress) for mode in options.modes]
            groups = [benches] if options.interleave else [[bench] for bench in benches]
            rates: list[float] | None = None
            for group in groups:
                for bench in group:
                    results["modes"][bench.mode] = bench.result  # filled in as it runs
                rates = _run_group(group, options.budget, rates)
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
    title = f"mosaic bench, {results['started_at'][:19]}Z, {results['machine']['cpu_count']} CPUs"
    results["plot"] = str(plot_steps(modes, options.out / PLOT_FILE, title))
    _finish(results, options, wall)
    print_report(console, results)
    console.print(f"Results: {options.out / RESULTS_FILE}", markup=False, highlight=False)
    console.print(f"Plot:    {options.out / PLOT_FILE}", markup=False, highlight=False)
    if missing := missing_fields(results):
        console.print(f"[yellow]Missing figures: {', '.join(missing[:10])}[/]")
    return results


def _run_group(benches: list[ModeBench], budget: Budget, rates: list[float] | None) -> list[float]:
    """The phases of these modes, interleaved (each phase mode after mode: both shops meet
    the same machine); their shops stopped at the end, also on errors and Ctrl-C.

    The step load offers the first mode's rates (from its capacity, unless `rates` came
    from an earlier group) to every mode, and the last mode (the in-process floor, which
    saturates later) one step more. Returns the rates offered.
    """
    try:
        for bench in benches:
            bench.launch()  # both start-ups at once
        for bench in benches:
            bench.wait_ready()
        for bench in benches:
            bench.begin()  # idle, once no start-up disturbs it
        for bench in benches:
            bench.warm_up()
        for flow in budget.flows:
            for bench in benches:
                bench.closed(flow)
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
        for bench in benches:
            bench.close()


def _finish(results: dict[str, Any], options: BenchOptions, wall: float, **extra: Any) -> None:
    results["finished_at"] = utc_now().isoformat()
    results["wall_seconds"] = round(time.monotonic() - wall, 1)
    results["machine"]["load_average"]["end"] = list(os.getloadavg())
    results.update(extra)
    write_results(options.out / RESULTS_FILE, results)
