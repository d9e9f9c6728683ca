"""`mosaic chaos`: break the running shop on purpose, then watch it cope (the runner does
the work: mosaic.chaos.runner)."""

import asyncio
import datetime
import json
from typing import Annotated, Any

import typer
from rich.console import Console

from mosaic.chaos.faults import KINDS, check_seconds, make_fault
from mosaic.errors import MosaicError
from mosaic.home import mosaic_home
from mosaic.state import read_state, runner_pid

app = typer.Typer(
    help="Break the running shop on purpose: kill or pause a process, put a fault on a hop, "
    "restart Postgres or Valkey under it.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
_out = Console(highlight=False, soft_wrap=True)

Service = Annotated[
    str,
    typer.Argument(
        metavar="SERVICE",
        help="A service (its web process, or its only type), SERVICE.TYPE, a process "
        "name as `mosaic status` shows it (orders.relay.1), or postgres or valkey (the "
        "shop's own).",
    ),
]
Replica = Annotated[int, typer.Option("--replica", help="Which replica.", min=1)]


def _ask(op: str, **arguments: Any) -> Any:
    """The running shop's answer, or a clear refusal when none runs here."""
    from mosaic import control

    home = mosaic_home()
    if runner_pid(home) is None:
        raise MosaicError(
            f"no mosaic up runs on {home}",
            "Start the shop first: `mosaic up --faults` (faults need it; kill, pause and "
            "restart work on any `mosaic up`).",
        )
    if (read_state(home) or {}).get("mode") == "in-process":
        raise MosaicError(
            "the shop runs --in-process: one process, no hops, nothing to break apart",
            "Start it as separate processes: `mosaic up --faults`.",
        )
    return asyncio.run(control.call(home, op, **arguments))


@app.command()
def kill(service: Service, replica: Replica = 1) -> None:
    """SIGKILL one process; the runner restarts it as after any crash.

    For example: `mosaic chaos kill catalog`, `mosaic chaos kill orders.relay`,
    `mosaic chaos kill frontend --replica 2`.
    """
    done = _ask("chaos.kill", service=service, replica=replica)
    _out.print(f"killed {done['name']} (pid {done['pid']}); the runner restarts it", markup=False)


@app.command()
def pause(
    service: Service,
    seconds: Annotated[
        float,
        typer.Option("--for", metavar="SECONDS", help="How long it stays stopped (at most 300)."),
    ],
    replica: Replica = 1,
) -> None:
    """SIGSTOP one process, and SIGCONT it after --for seconds.

    The runner keeps the time: the pause ends even if this command is interrupted, and
    stopping the shop ends it first. For example: `mosaic chaos pause payments --for 20`.
    """
    done = _ask("chaos.pause", service=service, replica=replica, seconds=seconds)
    _out.print(f"paused {done['name']} (pid {done['pid']}) until {_clock(done['until'])}")


@app.command()
def fault(
    hop: Annotated[
        str,
        typer.Argument(
            help="CALLER->CALLEE (quote it in a shell) or CALLER:CALLEE, where CALLEE is a "
            "service, postgres or valkey: frontend:catalog, catalog:postgres, frontend:valkey."
        ),
    ],
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")],
    seconds: Annotated[
        float | None,
        typer.Option(
            "--for", metavar="SECONDS", help="End it (back to none) after this many seconds."
        ),
    ] = None,
    latency_ms: Annotated[
        int | None, typer.Option(help="latency: added to every answer, in ms.")
    ] = None,
    jitter_ms: Annotated[
        int | None, typer.Option(help="latency: up to this many ms more or less, at random.")
    ] = None,
    rate: Annotated[int | None, typer.Option(help="bandwidth: bytes per second, each way.")] = None,
    probability: Annotated[
        float | None, typer.Option(help="reset: the share of connections reset (default 1).")
    ] = None,
    piece_bytes: Annotated[
        int | None, typer.Option("--bytes", help="partial: the largest write (default 16).")
    ] = None,
) -> None:
    """Put a fault on one hop, at once, on open connections too; `none` ends it.

    Kinds: latency (--latency-ms, --jitter-ms), reset (--probability), blackhole (accept,
    never answer), bandwidth (--rate), partial (--bytes), none. Needs `mosaic up --faults`.
    For example: `mosaic chaos fault frontend:catalog latency --latency-ms 300 --for 10`,
    `mosaic chaos fault catalog:postgres blackhole --for 5`.
    """
    # Refused here, before asking the runner (which checks again: mosaic.chaos.faults).
    make_fault(
        kind,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rate=rate,
        probability=probability,
        piece_bytes=piece_bytes,
    )
    options: dict[str, float | None] = {
        "latency_ms": latency_ms,
        "jitter_ms": jitter_ms,
        "rate": rate,
        "probability": probability,
        "piece_bytes": piece_bytes,
    }
    if seconds is not None:
        check_seconds("--for", seconds)
    given = {k: v for k, v in options.items() if v is not None}
    done = _ask("chaos.fault", hop=hop, fault={"kind": kind, **given}, seconds=seconds)
    until = f" until {_clock(done['until'])}" if done.get("until") else ""
    _out.print(f"{done['hop']}: {done['describe']}{until}", markup=False)


@app.command()
def faults(
    show_all: Annotated[
        bool, typer.Option("--all", help="Every hop, also those without a fault.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the faults on now (every hop with --all) and the paused processes."""
    listing = _ask("chaos.faults")
    if as_json:
        print(json.dumps(listing, indent=2))
        return
    if not listing["faults"]:
        _out.print("This shop runs without --faults: no proxy on its hops.", markup=False)
    hops = [h for h in listing["hops"] if show_all or h["fault"]["kind"] != "none"]
    if listing["faults"] and not hops:
        _out.print(f"No fault on any of the {len(listing['hops'])} hops.", markup=False)
    # Plain lines, not a table: a hop's name must never be cut to fit a narrow terminal.
    for h in hops:
        until = f"until {_clock(h['until'])}" if h["until"] else ""
        _out.print(
            f"{h['hop']:<28} {h['describe']:<28} {until:<18} proxy 127.0.0.1:{h['port']} -> "
            f"{h['target']}, {h['connections']} open, {h['accepted']} accepted",
            markup=False,
        )
    for paused in listing["paused"]:
        _out.print(f"{paused['name']} is paused until {_clock(paused['until'])}", markup=False)


@app.command()
def restart(
    server: Annotated[str, typer.Argument(metavar="postgres|valkey")],
) -> None:
    """Stop and start the shop's own Postgres or Valkey under the running services.

    Same data, same port: the services reconnect by themselves. Postgres gets a fast
    shutdown (open connections end), Valkey saves first. Answers once it is ready again.
    """
    done = _ask("chaos.restart", server=server)
    _out.print(f"{done['name']} is back (pid {done['pid']}) after {done['seconds']} s")


def _clock(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%H:%M:%S UTC")
