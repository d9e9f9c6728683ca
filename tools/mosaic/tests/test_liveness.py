"""The runner's probing policy (mosaic.liveness, mosaic.probes) with fake checks and small
periods, and the supervisor acting on it with a real child process: a process that stops
answering its liveness probe is SIGKILLed and restarted, one that only fails readiness is
shown unready and left running."""

import asyncio
import io
import re
import signal
import sys
from collections.abc import Callable

import pytest
from mosaic.children import Command
from mosaic.errors import MosaicError
from mosaic.liveness import (
    RUNNER_LATE_SECONDS,
    Misses,
    answered,
    cancelled,
    follow_readiness,
    until_silent,
    watch,
)
from mosaic.logs import LogStream
from mosaic.probes import LIVENESS, READINESS, Probe, runner_liveness, runner_readiness
from mosaic.supervisor import Identity, State, Supervised

FAST = Probe("/healthz", period=0.05, timeout=0.25, failures=3)


def answers(*script: bool | None) -> Callable[[], asyncio.Future[bool]]:
    """A check answering from `script` in turn (None: never answers), then as its last."""
    queue = list(script)

    def check() -> asyncio.Future[bool]:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if answer is not None:
            future.set_result(answer)
        return future

    return check


def test_misses_act_on_consecutive_failures_only() -> None:
    misses = Misses(Probe("/healthz", period=5, timeout=2, failures=3))
    assert not misses.record(False, sent_at=0)
    assert not misses.record(False, sent_at=5)
    assert not misses.record(True, sent_at=10)  # one answer starts the count again
    assert (misses.count, misses.since) == (0, None)
    assert not misses.record(False, sent_at=15)
    assert not misses.record(False, sent_at=20)
    assert misses.record(False, sent_at=25)
    assert misses.since == 15


async def test_a_probe_the_runner_itself_was_late_for_counts_neither_way() -> None:
    """The runner's loop stalled (starved of CPU): its probe timed out late, which says
    nothing about the process, so it is no miss (and no answer either)."""
    times = iter([0.0, 0.2 + RUNNER_LATE_SECONDS])  # sent at 0, the timeout seen that late
    late = await answered(answers(None), 0.2, clock=lambda: next(times))
    assert late is None
    on_time = iter([0.0, 0.25])
    assert await answered(answers(None), 0.2, clock=lambda: next(on_time)) is False
    assert await answered(answers(True), 0.2) is True
    misses = Misses(Probe("/healthz", period=5, timeout=2, failures=1))
    assert not misses.record(None, sent_at=0) and misses.count == 0


async def test_a_silent_process_is_found_after_its_failures_in_a_row() -> None:
    # Answers, one timeout, answers, then never again: only the last run of misses counts.
    silent_for = await asyncio.wait_for(until_silent(answers(True, None, True, None), FAST), 5)
    assert FAST.period * (FAST.failures - 1) <= silent_for < FAST.patience * 5


async def test_a_process_that_answers_now_and_then_is_not_silent() -> None:
    script = [False, False, True, None, False, True] * 3  # never three misses in a row
    check = answers(*script, True)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(until_silent(check, FAST), len(script) * FAST.period * 2)


async def test_readiness_turns_after_its_failures_and_back_after_one_success() -> None:
    seen: list[bool] = []
    check = answers(True, False, True, False, False, False, True, True)
    task = asyncio.create_task(follow_readiness(check, FAST, seen.append))
    try:
        for _ in range(200):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert seen == [False, True]  # one failure alone changed nothing


async def test_watch_follows_readiness_while_alive_and_returns_once_silent() -> None:
    seen: list[bool] = []
    alive = answers(*[True] * 8, None)
    silent = await asyncio.wait_for(watch(alive, answers(False), FAST, FAST, seen.append), 5)
    assert silent > 0
    assert seen == [False]


def test_the_runner_takes_the_default_numbers_or_its_variable() -> None:
    assert runner_liveness({}) == LIVENESS
    assert runner_liveness({"MOSAIC_LIVENESS": "off"}) is None
    fast = runner_liveness({"MOSAIC_LIVENESS": "0.5, 0.25, 4"})
    assert fast == Probe("/healthz", 0.5, 0.25, 4)
    assert runner_readiness(fast) == Probe("/readyz", 0.5, 0.25, READINESS.failures)
    assert runner_readiness(None) == runner_readiness(LIVENESS) == READINESS
    for bad in ("5", "a,b,c", "0,1,3", "5,2,0", "on"):
        with pytest.raises(MosaicError) as refused:
            runner_liveness({"MOSAIC_LIVENESS": bad})
        assert "PERIOD,TIMEOUT,FAILURES" in str(refused.value)


def test_deployments_get_the_same_numbers_in_their_fields() -> None:
    assert LIVENESS.kubernetes() == {
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    assert READINESS.compose()["interval"] == "5s"
    assert READINESS.compose()["retries"] == READINESS.failures
    with pytest.raises(ValueError):
        FAST.kubernetes()  # Kubernetes counts whole seconds


class Switch:
    """A check the test turns on and off; off: it never answers, as a paused process."""

    def __init__(self) -> None:
        self.on = True

    async def __call__(self) -> bool:
        if not self.on:
            await asyncio.Event().wait()
        return True


async def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Poll, bounded: the supervisor's state changes in its own tasks."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


SLEEP = "import time; time.sleep(120)"


def sleeper(
    alive: Switch, ready: Switch, liveness: Probe | None, out: io.StringIO, code: str = SLEEP
) -> Supervised:
    return Supervised(
        Identity("demo.web.1", "demo", "web"),
        Command([sys.executable, "-c", code], grace_seconds=1),
        ready,
        LogStream(out, pretty=False),
        lambda: None,
        alive=alive,
        liveness=liveness,
        readiness=FAST,
    )


async def test_the_supervisor_kills_a_silent_process_and_restarts_it() -> None:
    alive, ready, out = Switch(), Switch(), io.StringIO()
    supervised = sleeper(alive, ready, FAST, out)
    supervised.start()
    try:
        await wait_for(lambda: supervised.state == State.READY)
        first = supervised.pid
        alive.on = ready.on = False  # as a SIGSTOPped process: neither probe answers
        await wait_for(lambda: supervised.restarts == 1)
        alive.on = ready.on = True
        await wait_for(lambda: supervised.state == State.READY and supervised.pid is not None)
        assert supervised.pid != first
        assert supervised.reason is not None
        assert supervised.reason.startswith("was killed by SIGKILL: not answering its liveness")
        assert supervised.status()["reason"] == supervised.reason
        log = out.getvalue()
        said = r"demo\.web\.1 is not answering its liveness probe for \d+ s; killing it \(SIGKILL\)"
        assert re.search(said, log), log
        assert "demo.web.1 was killed by SIGKILL: not answering its liveness probe" in log
        assert "restarting in 0.5 s" in log
    finally:
        await supervised.stop()
    assert supervised.state == State.STOPPED


async def test_an_unready_process_is_shown_unready_and_left_running() -> None:
    alive, ready, out = Switch(), Switch(), io.StringIO()
    supervised = sleeper(alive, ready, FAST, out)
    supervised.start()
    try:
        await wait_for(lambda: supervised.state == State.READY)
        pid = supervised.pid
        ready.on = False  # alive, but its backing services do not answer
        await wait_for(lambda: supervised.state == State.UNREADY)
        await asyncio.sleep(FAST.patience * 3)
        ready.on = True
        await wait_for(lambda: supervised.state == State.READY)
        assert (supervised.pid, supervised.restarts) == (pid, 0)
        assert "demo.web.1 is unready: its /readyz fails" in out.getvalue()
        assert "demo.web.1 is ready again" in out.getvalue()
    finally:
        await supervised.stop()


async def test_without_liveness_a_silent_process_is_left_alone() -> None:
    alive, ready, out = Switch(), Switch(), io.StringIO()
    supervised = sleeper(alive, ready, None, out)
    supervised.start()
    try:
        await wait_for(lambda: supervised.state == State.READY)
        alive.on = ready.on = False
        await wait_for(lambda: supervised.state == State.UNREADY)
        await asyncio.sleep(FAST.patience * 3)
        assert supervised.restarts == 0 and supervised.pid is not None
    finally:
        ready.on = True
        supervised.kill()  # a stop() would wait for its grace period: it ignores nothing
        await asyncio.wait_for(supervised.stop(), 10)


async def test_a_process_stopping_is_never_killed_for_silence() -> None:
    # It takes its whole grace period (1 s, many liveness periods) to stop, silent meanwhile.
    slow = (
        "import signal, time; signal.signal(signal.SIGTERM, lambda *_: None); "
        "print('armed', flush=True); time.sleep(120)"
    )
    alive, ready, out = Switch(), Switch(), io.StringIO()
    supervised = sleeper(alive, ready, FAST, out, slow)
    supervised.start()
    await wait_for(lambda: supervised.state == State.READY and "armed" in supervised.tail)
    alive.on = ready.on = False
    await asyncio.wait_for(supervised.stop(), 10)
    assert "killing it" not in out.getvalue()
    assert supervised.last_exit == -signal.SIGKILL  # the grace period's end, not the probe
    assert supervised.restarts == 0


async def test_a_probe_that_lets_a_cancellation_pass_is_cancelled_again() -> None:
    """What Python 3.11's wait_for can do (CPython gh-86296); a probe task that outlived
    its cancellation kept `mosaic up` from stopping."""
    swallowed = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)  # the first cancellation is lost

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancelled(task), 5)
    assert task.cancelled() and swallowed == [True]


async def test_a_check_answering_as_it_is_cancelled_does_not_lose_the_cancellation() -> None:
    async def check() -> bool:
        await asyncio.sleep(0.05)
        return True

    task = asyncio.create_task(answered(check, 1.0))
    await asyncio.sleep(0.05)  # cancel about when the check completes
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
