"""`mosaic bench` from start to end: each mode in turn, then the results, plot and tables."""

import os
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from mosaic.bench.analysis import ratios
from mosaic.bench.options import IN_PROCESS, MICROSERVICES, BenchOptions
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
            rates: list[float] | None = None
            for mode in options.modes:
                figures = ModeBench(mode, options, progress).run(rates)
                results["modes"][mode] = figures
                # The floor offers the same rates (the plot compares like with like), and
                # one step more: it saturates later.
                planned_rates = figures["planned_rates"]
                rates = [*planned_rates, round(planned_rates[-1] * options.budget.step_factor, 1)]
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


def _finish(results: dict[str, Any], options: BenchOptions, wall: float, **extra: Any) -> None:
    results["finished_at"] = utc_now().isoformat()
    results["wall_seconds"] = round(time.monotonic() - wall, 1)
    results["machine"]["load_average"]["end"] = list(os.getloadavg())
    results.update(extra)
    write_results(options.out / RESULTS_FILE, results)
