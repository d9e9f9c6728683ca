"""One run: Locust's environment and local runner start the users, and this module decides
when they act, times every action itself, paces the open loop, prints progress and writes
the result.

Closed loop: each user starts its next action as soon as the last one ended. Open loop: a
pacer makes RATE arrivals a second on a fixed schedule, whatever the latency; each arrival
goes to an idle user (one action in flight per user, so USERS bounds the actions in
flight), and when none is idle it is counted as dropped, never delayed. An action is
measured when it starts inside the window; the run waits for the measured actions still in
flight before it stops, so slow ones are not cut off.

SIGUSR1 ends the measured window early (from then on, no action starts counted) and the
run finishes as if its duration had passed: a caller that only needs load for as long as
something else takes (an upgrade, a restart) asks for a generous duration and ends it then.
The result's window says how long it really was.
"""

import itertools
import json
import os
import random
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]
from locust import User
from locust.env import Environment

from loadgen.cli import Plan
from loadgen.flows import (
    MIX,
    NEEDS_ACCOUNT,
    SHOPPING,
    SIGNED_IN_SHOPPING,
    mix_shares,
    signed_in_users,
)
from loadgen.shop import Shop, ShopUnreachable, discover
from loadgen.shoppers import COUNTED, FlowFailed, Shopper
from loadgen.stats import Recorder

__all__ = ["ShopUnreachable", "drive"]

SETUP_SECONDS = 120.0  # for every user to have its session (and account) before warm-up
DRAIN_SECONDS = 35.0  # for measured actions in flight at the end (a request times out at 30)
LATE_SECONDS = 0.010  # an arrival started later than this behind schedule is "late"
MAX_SPAWN_RATE = 100  # users a second: Locust warns above


class Run:
    """The director of one run's users (see `loadgen.shoppers.Director`)."""

    def __init__(self, plan: Plan, output: TextIO = sys.stdout) -> None:
        self.plan, self.output = plan, output
        self.seed = plan.seed
        self.mailbox = plan.mailbox
        self.shop = Shop(products=(), currencies=())  # discovered before users start
        self.recorder = Recorder()
        self.random = random.Random(plan.seed)  # noqa: S311 - choices, not secrets
        self.numbers = itertools.count()
        self.accounts = itertools.count()
        self.ready = 0
        self.in_flight = 0
        self.handed = 0  # open loop: arrivals given to a user that has not started them yet
        self.measuring = False  # actions starting now are counted
        self.stopping = False
        self.window_ended = gevent.event.Event()  # SIGUSR1: the window ends now
        self.phase = "warmup"
        self.idle: deque[Shopper] = deque()
        self.late = 0
        self.arrivals = 0  # made so far, by the open loop's pacer
        self.shares = mix_shares(plan.flow, plan.users)
        self.recorder.expect(self.shares)
        self.started = time.monotonic()
        self.baseline = (0, 0)  # finished and failed actions when the phase began

    # --- the users' side ---------------------------------------------------------------

    def enlist(self, user: Shopper) -> int:
        return next(self.numbers)

    def set_up(self, user: Shopper) -> None:
        try:
            user.prepare(next(self.accounts) if user.signed_in else None)
        except FlowFailed as failed:
            self.recorder.setup_error("setup", str(failed))
        except Exception as error:  # recorded; the user goes on and its actions tell
            self.recorder.setup_error("setup", f"unexpected {type(error).__name__}: {error}")
        self.ready += 1
        if self.plan.rate is not None:
            self.idle.append(user)

    def serve(self, user: Shopper) -> None:
        if self.plan.rate is not None:
            flow, counted = user.inbox.get()
            self.handed -= 1
            self.perform(user, flow, counted)
            self.idle.append(user)
        elif self.stopping:
            gevent.sleep(0.1)
        else:
            self.perform(user, user.choose(), self.measuring)

    def perform(self, user: Shopper, flow: str, counted: bool) -> None:
        """One action, timed; what it needs first (a filled cart) is done but not timed."""
        user.counted = counted
        self.in_flight += 1
        try:
            error = user.get_ready(flow)
            began = time.perf_counter()
            if error is None:
                error = user.perform(flow)
        finally:
            self.in_flight -= 1
        milliseconds = (time.perf_counter() - began) * 1000
        user.counted = False
        self.recorder.action(flow, milliseconds, error, counted)

    def on_request(self, request_type: str, name: str, response_time: float,
                   exception: BaseException | None, context: dict[str, Any],
                   **_: Any) -> None:  # fmt: skip
        if context.get(COUNTED):
            self.recorder.request(f"{request_type} {name}", response_time, exception is not None)

    # --- the open loop's pacer ---------------------------------------------------------

    def pace(self, origin: float, seconds: float, counted: bool) -> None:
        """Makes the arrivals of the run's first `seconds`: arrival k (counted from 0 over
        the whole run, warm-up included) is due at origin + k / rate."""
        rate = self.plan.rate
        assert rate is not None
        flows, weights = list(self.shares), list(self.shares.values())
        for k in range(self.arrivals, round(seconds * rate)):
            due = origin + k / rate
            self.arrivals = k + 1
            wait = due - time.perf_counter()
            if wait > 0 and not counted:
                gevent.sleep(wait)
            elif wait > 0 and self.window_ended.wait(wait):
                return  # the window was ended early: no more arrivals
            if counted and -wait > LATE_SECONDS:
                self.late += 1
            if self.idle:
                user = self.idle.popleft()
                user.inbox.put((user.choose(), counted))
                self.handed += 1
            elif counted:
                self.recorder.dropped(self.random.choices(flows, weights)[0])

    # --- progress ----------------------------------------------------------------------

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.baseline = (self.recorder.finished, self.recorder.failed)

    def report(self) -> None:
        """One JSON line a second: actions finished and failed in this phase, and the rate
        of the last second."""
        tick, last = 1, self.recorder.finished
        while True:
            gevent.sleep(max(0.0, self.started + tick - time.monotonic()))
            finished, failed = self.recorder.finished, self.recorder.failed
            line = {
                "t": round(time.monotonic() - self.started, 1),
                "requests": finished - self.baseline[0],
                "failures": failed - self.baseline[1],
                "rps": finished - last,
                "in_flight": self.in_flight,
                "phase": self.phase,
            }
            print(json.dumps(line), file=self.output, flush=True)
            tick, last = tick + 1, finished


def user_classes(run: Run) -> list[type[User]]:
    """This run's users: one class per kind, with the director and fixed counts."""
    plan = run.plan

    def kind(name: str, weights: Any, signed_in: bool, count: int) -> type[User]:
        return type(name, (Shopper,), {
            "director": run, "weights": weights, "signed_in": signed_in, "fixed_count": count,
            "__module__": __name__})  # fmt: skip

    if plan.flow == MIX:
        signed = signed_in_users(plan.users)
        kinds = [kind("Visitor", SHOPPING, False, plan.users - signed)]
        return kinds + ([kind("Member", SIGNED_IN_SHOPPING, True, signed)] if signed else [])
    if plan.flow in NEEDS_ACCOUNT:
        return [kind("Member", {plan.flow: 1}, True, plan.users)]
    return [kind("Visitor", {plan.flow: 1}, False, plan.users)]


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.05)
    return True


def drive(plan: Plan, output: TextIO = sys.stdout) -> dict[str, Any]:
    """Run the plan; write and return the result. Raises ShopUnreachable first if the
    shop cannot be driven at all."""
    # Ctrl-C or SIGTERM stops the run here, wherever it waits (Locust's greenlets would
    # otherwise swallow a KeyboardInterrupt); the caller says it was interrupted.
    here = gevent.getcurrent()
    for number in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(number, here.throw, KeyboardInterrupt)
    run = Run(plan, output)
    gevent.signal_handler(signal.SIGUSR1, run.window_ended.set)
    started_at = datetime.now(UTC)
    environment = Environment(user_classes=list(user_classes(run)), host=plan.host)
    run.shop = discover(environment, plan.host)
    environment.events.request.add_listener(run.on_request)  # type: ignore[no-untyped-call]
    runner = environment.create_local_runner()
    progress = gevent.spawn(run.report)
    try:
        runner.start(plan.users, spawn_rate=min(plan.users, MAX_SPAWN_RATE))
        if not wait_until(lambda: run.ready >= plan.users, SETUP_SECONDS):
            run.recorder.setup_error("setup", f"not every user was ready in {SETUP_SECONDS:g} s")
        # One schedule for warm-up and window: arrival k is due at origin + k / rate.
        origin = time.perf_counter()
        warmed = origin + plan.warmup
        if plan.rate is not None:
            run.pace(origin, plan.warmup, counted=False)
        gevent.sleep(max(0.0, warmed - time.perf_counter()))
        run.enter("measure")
        run.measuring = True
        window_start, begun = time.time(), time.perf_counter()
        if plan.rate is not None:
            run.pace(origin, plan.warmup + plan.duration, counted=True)
        run.window_ended.wait(max(0.0, begun + plan.duration - time.perf_counter()))
        run.measuring, run.stopping = False, True
        window_end, seconds = time.time(), time.perf_counter() - begun
        wait_until(lambda: run.in_flight == run.handed == 0, DRAIN_SECONDS)
    finally:
        runner.quit()
        progress.kill()
    result = {
        "flow": plan.flow, "mode": plan.mode, "users": plan.users, "rate": plan.rate,
        "duration": plan.duration, "warmup": plan.warmup, "seed": plan.seed,
        "host": plan.host, "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "window": {"start": window_start, "end": window_end},
        "late_arrivals": run.late,
        **run.recorder.summary(seconds),
    }  # fmt: skip
    temporary = plan.out.with_name(f".{plan.out.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    temporary.replace(plan.out)
    return result
