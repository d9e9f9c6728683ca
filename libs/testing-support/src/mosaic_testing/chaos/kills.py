"""Signals during the run, at fixed moments, each followed by the runner's restart; or a
`mosaic chaos` command (`Chaos`: a backing server restarted, a process paused).

A SIGKILL is a power cut for one process: nothing it held in memory survives, and whatever
it was doing (a checkout's saga, a charge, an outbox batch) is found again by the others or
by orders' recovery. A SIGTERM is a restart as a deployment makes it: the process drains
(readiness off, in-flight work finished) and exits. The run waits for the runner to bring
the process back, so the next signal finds a shop that had recovered from the last.
"""

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from signal import SIGKILL, Signals

from mosaic_testing import UpProcess, mosaic

RESTART_SECONDS = 60  # the runner restarts a dead process within a second or two


@dataclass(frozen=True)
class Kill:
    process: str  # as `mosaic status` names it: orders.web.1, orders.relay.1, ...
    at: float  # fraction of the run's duration
    signal: Signals = SIGKILL


@dataclass(frozen=True)
class Chaos:
    """`mosaic chaos ARGS` at a moment of the run. It is over when the command returns (a
    restart returns once the server is back), or, with `over_when`, when the runner's
    output says so (a pause's "chaos: SIGCONT to payments.web.1")."""

    args: tuple[str, ...]
    at: float  # fraction of the run's duration
    over_when: str | None = None

    @property
    def process(self) -> str:
        return " ".join(self.args)


@dataclass
class Killed:
    process: str
    signal: str  # SIGKILL, SIGTERM
    at: float  # seconds into the run
    pid: int
    back_after: float | None  # seconds until the runner had it ready again; None: never


def schedule(orders: int, others: tuple[str, ...]) -> list[Kill]:
    """`orders` kills of orders' web process and one of each of `others`, spread over the
    run (never in its first or last tenth, so each finds checkouts in flight)."""
    kills = [Kill("orders.web.1", (i + 1) / (orders + 1)) for i in range(orders)]
    kills += [Kill(name, (i + 1.5) / (len(others) + 2)) for i, name in enumerate(others)]
    return sorted(kills, key=lambda kill: kill.at)


def rolling(processes: list[str], signals: tuple[Signals, ...]) -> list[Kill]:
    """Each signal in turn to every process, one after another, spread evenly over the
    run (all of them SIGTERMed, then all SIGKILLed, for example)."""
    order = [(sent, name) for sent in signals for name in processes]
    return [Kill(name, (i + 1) / (len(order) + 1), sent) for i, (sent, name) in enumerate(order)]


def kill_on_schedule(
    up: UpProcess,
    kills: list[Kill | Chaos],
    *,
    t0: float,
    duration: float,
    done: list[Killed],
    say: Callable[[str], None],
) -> None:
    """Signal each process at its moment; wait for the runner to restart it. Or run each
    chaos command at its moment and wait until it is over."""
    for kill in kills:
        time.sleep(max(0.0, t0 + kill.at * duration - time.monotonic()))  # until its moment
        if isinstance(kill, Chaos):
            done.append(chaos_command(up, kill, t0))
            say(f"chaos {kill.process} at {done[-1].at:.0f} s; over after {done[-1].back_after} s")
            continue
        pid = ready(up, kill.process, None)[1]
        os.kill(pid, kill.signal)
        at = time.monotonic()
        back = restarted(up, kill.process, pid)
        killed = Killed(kill.process, kill.signal.name, round(at - t0, 1), pid,
                        None if back is None else round(back - at, 1))  # fmt: skip
        done.append(killed)
        say(f"{kill.signal.name} {kill.process} (pid {pid}) at {killed.at:.0f} s; "
            f"back after {killed.back_after} s")  # fmt: skip


def chaos_command(up: UpProcess, chaos: Chaos, t0: float) -> Killed:
    """Run `chaos`; when it was over (seconds after it began; None: not within
    RESTART_SECONDS, or the command failed, its output then in `signal`)."""
    began, lines = time.monotonic(), len(up.lines)
    done = mosaic("chaos", *chaos.args, env=up.env, timeout=RESTART_SECONDS)
    over: float | None = None
    if done.returncode == 0:
        over = time.monotonic()
        if (wanted := chaos.over_when) is not None:
            try:
                up.wait_for_line(lambda line: wanted in line, RESTART_SECONDS, wanted,
                                 after=lines)  # fmt: skip
                over = time.monotonic()
            except (AssertionError, TimeoutError):
                over = None
    said = "chaos" if done.returncode == 0 else f"chaos failed: {done.stderr.strip()[-300:]}"
    return Killed(chaos.process, said, round(began - t0, 1), 0,
                  None if over is None else round(over - began, 1))  # fmt: skip


def restarted(up: UpProcess, name: str, pid: int) -> float | None:
    """When the runner had `name` ready again under a new pid (time.monotonic())."""
    try:
        return ready(up, name, pid)[0]
    except TimeoutError:
        return None


def ready(up: UpProcess, name: str, old: int | None) -> tuple[float, int]:
    """When `name` was ready under a pid other than `old` (time.monotonic()), and the pid."""
    deadline = time.monotonic() + RESTART_SECONDS
    while time.monotonic() < deadline:
        try:
            now = up.processes().get(name, {})
        except subprocess.TimeoutExpired:  # `mosaic status` slow on a busy machine: ask again
            continue
        if now.get("pid") not in (None, old) and now.get("state") == "ready":
            return time.monotonic(), int(now["pid"])
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready within {RESTART_SECONDS} s")
