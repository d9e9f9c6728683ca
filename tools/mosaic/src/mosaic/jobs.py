"""Scheduled jobs ([tool.mosaic.jobs]): once the stack is ready, each job's command runs
at its schedule (`cron`, or `every` seconds: mosaic.schedules) with its service's
environment (as its release phase has), output prefixed `<service>.<job>`. One run of a
job at a time here: a run that overruns its next time delays it; across runners, replicas
and pods the job's advisory lock does the same (chassis.job_runs). A failed run is logged
(and recorded with its output) and the job runs again at its next time.

`mosaic admin run SERVICE JOB` runs one now: the runner leaves each service's job
environment in $MOSAIC_HOME/run/env/<service>.json (owner-only, like secrets.json).
"""

import asyncio
import contextlib
import json
import os
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from mosaic.children import Command, spawn, terminate
from mosaic.errors import MosaicError
from mosaic.logs import LINE_LIMIT, LogStream
from mosaic.procfile import shell_argv
from mosaic.schedules import next_run
from mosaic.services import Job, Service
from mosaic.state import run_dir, runner_pid


def job_command(service: Service, job: Job, env: dict[str, str], grace: float) -> Command:
    return Command(
        shell_argv(job.command),
        cwd=service.folder,
        env={**env, "MOSAIC_PROCESS": job.name},
        grace_seconds=grace,
    )


async def run_job(name: str, command: Command, logs: LogStream) -> int | None:
    """Run once with output as `name`; the exit code (None: it could not start)."""
    try:
        process = await spawn(command, LINE_LIMIT)
    except MosaicError as error:
        logs.note(f"{name}: {error}")
        return None
    assert process.stdout is not None
    pump = asyncio.create_task(logs.pump(name, process.stdout, deque(maxlen=1)))
    try:
        code = await process.wait()
        await pump
    except asyncio.CancelledError:  # `up` is stopping: stop the job too
        await asyncio.shield(terminate(process, command, command.grace_seconds))
        raise
    return code


Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def schedule(
    owner: str,
    job: Job,
    command: Command,
    logs: LogStream,
    now: Clock = utc_now,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Run `owner`'s job (a service's, or the runner's own `mosaic.backup`) at its schedule
    (mosaic.schedules) until cancelled: at each time its cron names, or now and then every
    job.every seconds (start to start)."""
    name = f"{owner}.{job.name}"

    async def run_once() -> None:
        began = now()
        code = await run_job(name, command, logs)
        if code != 0:
            what = "could not start" if code is None else f"exited with code {code}"
            wait = (next_run(job.cron, job.every, began, now()) - now()).total_seconds()
            logs.note(f"{name} {what}; it runs again in {wait:.0f} s")

    await run_on_schedule(job, run_once, now, sleep)


async def run_on_schedule(
    job: Job, run_once: Callable[[], Awaitable[None]], now: Clock, sleep: Sleep
) -> None:
    """Call `run_once` at each time `job`'s schedule names, one run at a time (a run that
    overruns its next time delays it), until cancelled."""
    last: datetime | None = None
    while True:
        due = next_run(job.cron, job.every, last, now())
        wait = (due - now()).total_seconds()
        if wait > 0:
            await sleep(wait)
        last = now()
        await run_once()


def _env_dir(home: Path) -> Path:
    return run_dir(home) / "env"


def save_job_env(home: Path, service: str, env: dict[str, str]) -> None:
    folder = _env_dir(home)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = folder / f".{service}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(env, out)
    tmp.replace(folder / f"{service}.json")


def load_job_env(home: Path, service: str) -> dict[str, str] | None:
    try:
        data = json.loads((_env_dir(home) / f"{service}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def running_env(home: Path, service: str) -> dict[str, str]:
    """The environment the running `mosaic up` gives `service`'s jobs and tasks."""
    env = load_job_env(home, service) if runner_pid(home) is not None else None
    if env is None:
        raise MosaicError(
            f"Mosaic is not running on {home}"
            if runner_pid(home) is None
            else f"{service} is not started yet in the running `mosaic up`",
            "Start it with `./mosaic up`, then run the command again.",
        )
    return env


def forget_job_envs(home: Path) -> None:
    for path in _env_dir(home).glob("*.json"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
