"""`mosaic status` and `mosaic down`: talk to the `mosaic up` running on a $MOSAIC_HOME."""

import json
import os
import signal
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mosaic.builds import short
from mosaic.errors import MosaicError
from mosaic.state import read_state, runner_pid

_STATE_STYLES = {
    "ready": "green",
    "unready": "yellow",  # alive, but its /readyz fails (e.g. its database is down)
    "starting": "yellow",
    "restarting": "yellow",
    "crashed": "red",
}


def print_status(home: Path, as_json: bool) -> bool:
    """Print the state of the running `up`; False when none runs."""
    console = Console(highlight=False, soft_wrap=True)
    pid = runner_pid(home)
    state = read_state(home) if pid is not None else None
    if pid is None or state is None:
        if as_json:
            print(json.dumps({"running": False, "home": str(home)}))
        else:
            console.print(f"Mosaic is not running on {home}.", markup=False)
            console.print("Start it with `./mosaic up` from the repository root.", markup=False)
        return False
    if as_json:
        print(json.dumps({"running": True, **state}, indent=2))
        return True
    phase = f"ready at {state.get('url')}" if state.get("ready") else "starting or stopping"
    console.print(f"Mosaic (pid {pid}) is {phase}; home {home}", markup=False)
    if state.get("mailbox"):
        console.print(f"Dev mailbox: {state['mailbox']}", markup=False)
    if state.get("dashboard"):
        console.print(f"Dashboard: {state['dashboard']}", markup=False)
    table = Table(
        "service", "type", "replica", "build", "pid", "port", "ops port", "state", "restarts"
    )
    for p in state.get("processes", []):
        table.add_row(
            p.get("service") or p.get("name"),
            _text(p.get("process")),
            _text(p.get("replica")),
            _text(p.get("build") and short(p["build"])),
            _text(p.get("pid")),
            _text(p.get("port")),
            _text(p.get("ops_port")),
            f"[{_STATE_STYLES.get(p.get('state'), 'dim')}]{p.get('state')}[/]",
            _text(p.get("restarts")),
        )
    console.print(table)
    # Below the table, not in it: a reason is a sentence, too long for a column.
    for p in state.get("processes", []):
        if p.get("reason"):
            console.print(f"{p.get('name')} last {p['reason']}", markup=False)
    return True


def stop_runner(home: Path, timeout: float) -> None:
    console = Console(highlight=False, soft_wrap=True)
    pid = runner_pid(home)
    if pid is None:
        console.print(f"Mosaic is not running on {home}; nothing to stop.", markup=False)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        raise MosaicError(
            f"not allowed to stop mosaic up (pid {pid})", "Run `mosaic down` as its user."
        ) from None
    console.print(f"Stopping mosaic up (pid {pid}) ...", markup=False)
    deadline = time.monotonic() + timeout
    while runner_pid(home) is not None:
        if time.monotonic() > deadline:
            raise MosaicError(
                f"mosaic up (pid {pid}) is still stopping after {timeout:.0f} s",
                f"Wait and check `mosaic status`, or `kill -9 {pid}` (its children follow it).",
            )
        time.sleep(0.1)
    console.print("Mosaic stopped.")


def _text(value: object) -> str:
    return "-" if value is None else str(value)
