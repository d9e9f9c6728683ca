"""The `mosaic bench` command: its options, and their help."""

import importlib.util
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mosaic.errors import MosaicError, UsageError

_LOAD = "Load"
_SHOP = "Shop under test"


def bench(
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Bench both modes, each on its own fresh home: microservices and "
            "in-process (`mosaic up --in-process`); print microservices ÷ "
            "in-process for CPU per request, p50 and p99 per flow. Includes the floor "
            "page and the pages phase (see --floor) and issue 16's targets.",
        ),
    ] = False,
    floor: Annotated[
        bool,
        typer.Option(
            "--floor",
            help="Bench the floor page alone (bench/floor.py: an edge, 3 mTLS hops, 2 "
            "Postgres reads, 1 Valkey GET): pages/s with wrk's 32 connections, shop CPU "
            "per page, p95. With --compare, Mosaic's product page runs beside it, then "
            "open loop at half its rate. Needs wrk (installed with apt-get as root).",
        ),
    ] = False,
    sequential: Annotated[
        bool,
        typer.Option(
            "--sequential",
            help="With --compare: one mode after the other, each shop alone on the "
            "machine. Default: interleaved, both shops up at once and each phase run "
            "mode after mode, so both meet the same (shared, noisy) machine.",
        ),
    ] = False,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Bench the in-process mode alone (every service in one process).",
        ),
    ] = False,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="A smoke run: a few seconds per phase, few users, 2 steps (about a "
            "minute per mode). Options below still override it.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for results.json, the plot, each load run's raw result and the "
            "shop's log. Default: bench-results/<UTC time>/ in the repository (git ignores it).",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Bench a shop that already runs at this URL instead of starting one. "
            "Without --home, CPU and memory cannot be measured (no pids).",
            rich_help_panel=_SHOP,
        ),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Bench the `mosaic up` running on this $MOSAIC_HOME (its URL and pids "
            "come from its state).",
            rich_help_panel=_SHOP,
        ),
    ] = None,
    up_option: Annotated[
        list[str] | None,
        typer.Option(
            metavar="OPTION",
            help="Pass an option on to each `mosaic up` bench starts, e.g. "
            "--up-option=--transport=mesh; repeatable.",
            rich_help_panel=_SHOP,
        ),
    ] = None,
    ready_timeout: Annotated[
        float,
        typer.Option(help="Seconds to wait for a started shop to be ready.", min=1),
    ] = 180.0,
    flow: Annotated[
        list[str] | None,
        typer.Option(
            help="Closed-loop flows to run (repeatable). Default: home, browse, cart, "
            "currency, add, checkout, history.",
            rich_help_panel=_LOAD,
        ),
    ] = None,
    warmup: Annotated[
        float | None,
        typer.Option(
            help="Seconds of the mix before measuring (default 10; quick 1).",
            min=0,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    closed: Annotated[
        float | None,
        typer.Option(
            help="Measured seconds of each flow alone, closed loop (default 10; quick 2).",
            min=0.5,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    users: Annotated[
        int | None,
        typer.Option(
            help="Closed loop: concurrent users, no think time (default 4; quick 2).",
            min=1,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    step: Annotated[
        float | None,
        typer.Option(
            help="Measured seconds of each step of the step load (default 8; quick 1.5).",
            min=0.5,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            help="Most steps of the step load; it stops earlier at saturation "
            "(default 6; quick 2; the in-process floor gets one more).",
            min=1,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    start_rate: Annotated[
        float | None,
        typer.Option(
            help="Arrivals per second of the first step. Default: a quarter of the "
            "mix's capacity estimated from the closed-loop runs.",
            min=0.1,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    step_factor: Annotated[
        float | None,
        typer.Option(
            help="Each step offers this many times the previous one (default 1.5).",
            min=1.05,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            help="Open loop: arrivals beyond this many in flight are dropped and counted "
            "(default 64; quick 16).",
            min=1,
            rich_help_panel=_LOAD,
        ),
    ] = None,
    p99_limit_ms: Annotated[
        float,
        typer.Option(
            help="A step whose p99 exceeds this is saturated (as is one dropping over 1% "
            "of arrivals, failing over 1% of requests, or achieving under 90% of offered).",
            min=1,
            rich_help_panel=_LOAD,
        ),
    ] = 1000.0,
    seed: Annotated[int, typer.Option(help="Seed of the load generator.")] = 1,
) -> None:
    """Measure the shop under load: throughput, latency, CPU and memory, per flow.

    Starts the shop itself (`mosaic up` on a fresh temporary $MOSAIC_HOME and a free port,
    deleted afterwards), or uses a running one (--url / --home). Then, per mode:

    \b
    1. idle: CPU and memory (RSS) of every process of the shop with nothing to do;
    2. warm-up: the mix (Online Boutique's proportions), not measured;
    3. closed loop: each flow alone with N users and no think time;
    4. step load: the mix, open loop, at fixed arrival rates stepping up by --step-factor
       until saturation (or --steps).

    With --compare (or --floor alone), the floor page (bench/floor.py) starts beside the
    shops and, after the closed loops, the pages phase runs: wrk with 32 connections
    against the product page (with a shopper's cookies) and against the floor page, then
    the product page open loop (the load generator) at half the rate wrk achieved. The
    report ends with issue 16's targets, each met or not, with its figure.

    Per run: throughput, p50/p95/p99 latency (one user action, e.g. a whole checkout),
    errors, and CPU seconds per request: user + system time of the shop's own processes
    (services; and with Postgres and Valkey) over the load generator's measured window,
    never the load generator's or this command's. RSS per service: idle, after warm-up,
    at the end. The knee: the highest offered rate below the first saturated step with
    p99 within 2x of the lowest p99 of any step (normally the lowest load's) and at least
    95% of the offered rate achieved.

    Writes results.json (every figure, the machine, versions, git commit) and
    latency-vs-load.png into --out, then prints the tables. The defaults fit
    `mosaic bench --compare` into about 10 minutes on 2 cores. Ctrl-C stops everything
    it started.
    """
    require_matplotlib()
    from rich.console import Console

    from mosaic.bench.options import FLOWS, BenchOptions, Budget
    from mosaic.bench.run import run_bench
    from mosaic.home import workspace_root

    if compare and (in_process or url or home):
        raise UsageError(
            "--compare starts its own shops, one per mode",
            "Drop --in-process, --url and --home, or drop --compare.",
        )
    if floor and not compare and (in_process or url or home):
        raise UsageError(
            "--floor alone benches the floor page only",
            "Drop --in-process, --url and --home, or add --compare.",
        )
    if unknown := [f for f in flow or [] if f not in FLOWS]:
        raise UsageError(f"unknown flow: {', '.join(unknown)}", f"Pick from {', '.join(FLOWS)}.")
    budget = Budget().quick() if quick else Budget()
    overrides: dict[str, Any] = {
        "warmup": warmup,
        "closed": closed,
        "closed_users": users,
        "step": step,
        "max_steps": steps,
        "start_rate": start_rate,
        "step_factor": step_factor,
        "max_in_flight": max_in_flight,
        "flows": tuple(flow) if flow else None,
    }
    budget = replace(budget, **{k: v for k, v in overrides.items() if v is not None})
    options = BenchOptions(
        out=(out or _default_out(workspace_root())).absolute(),
        modes=_modes(compare=compare, floor=floor, in_process=in_process),
        floor=floor or compare,
        url=url,
        home=home.absolute() if home else None,
        budget=budget,
        up_args=tuple(up_option or ()),
        ready_timeout=ready_timeout,
        seed=seed,
        quick=quick,
        interleave=not sequential,
    )
    options = replace(options, saturation=replace(options.saturation, p99_limit_ms=p99_limit_ms))
    # Wide tables when the output goes to a file or a pipe, where rich would assume 80.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    try:
        run_bench(options, workspace_root(), console)
    except KeyboardInterrupt:
        console.print("Interrupted: stopped the load and every shop bench started.")
        console.print(f"Partial results: {options.out / 'results.json'}", markup=False)
        raise typer.Exit(130) from None


def _modes(*, compare: bool, floor: bool, in_process: bool) -> tuple[str, ...]:
    from mosaic.bench.options import IN_PROCESS, MICROSERVICES

    if compare:
        return (MICROSERVICES, IN_PROCESS)
    if floor:
        return ()
    return (IN_PROCESS,) if in_process else (MICROSERVICES,)


def require_matplotlib() -> None:
    """Said before a run, not after minutes of load: the plot needs the `bench` extra."""
    if importlib.util.find_spec("matplotlib") is None:
        raise MosaicError(
            "bench draws its plot with matplotlib, which is not installed: run ./mosaic "
            "in the repository (its dev group has it) or pip install 'mosaic[bench]'"
        )


def _default_out(root: Path) -> Path:
    return root / "bench-results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
