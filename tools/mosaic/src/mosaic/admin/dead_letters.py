"""`mosaic admin dead-letters`: what the shop set aside because it could not handle it.

Two places hold such events:
- the dead-letter streams, `events:<producer>:dead`: a consumer (chassis.events) moves an
  entry there after MAX_DELIVERIES failed deliveries, at once when its handler says no
  retry can help (an unknown version, malformed data), with the reason. Read and replayed
  here with the broker's admin credentials: replay appends the event again to the stream
  it came from (every group of that stream gets it; consumers dedupe by event id, so a
  group that had handled it does nothing) and deletes the letter.
- a producer's outbox rows its relay set aside (an event it could never publish): listed
  and given back to the relay by the producer's own job (`[tool.mosaic] outbox`, e.g.
  `python -m orders.jobs outbox`), run with the environment the runner gives its jobs.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from mosaic.backing.provision import dead_letter_key, stream_key
from mosaic.backing.secrets import Secrets
from mosaic.backing.valkey import admin_url
from mosaic.errors import MosaicError, UsageError
from mosaic.jobs import load_job_env
from mosaic.procfile import shell_argv
from mosaic.services import Service
from mosaic.state import read_state, runner_pid


@dataclass(frozen=True)
class Letter:
    """A dead letter as the operator sees it: where from, why, which event (not its data:
    it holds a shopper's address)."""

    id: str
    dead_letters: str
    stream: str
    group: str
    reason: str
    deliveries: int
    dead_at: str
    event_id: str | None
    event_type: str | None
    event_version: int | None


def consumed_producers(services: list[Service], only: str | None = None) -> list[str]:
    """Every producer some service consumes (their dead letters are events:<producer>:dead),
    or just `only`: a usage error when nobody consumes its events."""
    producers = sorted({p for s in services for p in s.consumes})
    if only is None:
        return producers
    if only not in producers:
        raise UsageError(
            f"no service consumes events of {only!r}",
            f"Producers: {', '.join(producers) or 'none'}.",
        )
    return [only]


def admin_broker_url(home: Path, redis_url: str | None) -> str:
    """The broker's admin URL: the one given (an external server), else the running
    `mosaic up`'s embedded Valkey."""
    if redis_url:
        return redis_url
    state = read_state(home) if runner_pid(home) is not None else None
    valkey = next(
        (p for p in (state or {}).get("processes", []) if p.get("name") == "valkey"), None
    )
    if valkey is None or not valkey.get("port"):
        raise MosaicError(
            f"Mosaic is not running on {home}",
            "Start it with `./mosaic up`, or give the broker's admin URL with --redis-url.",
        )
    return admin_url(Secrets(home / "secrets.json").password("valkey/admin"), valkey["port"])


def list_letters(url: str, producers: list[str]) -> list[Letter]:
    return asyncio.run(_list(url, producers))


def replay(url: str, producers: list[str], ids: list[str]) -> list[Letter]:
    """Put the letters with `ids` (all with []) of the producers' dead letters back onto
    their streams; those replayed."""
    return asyncio.run(_replay(url, producers, ids))


async def _list(url: str, producers: list[str]) -> list[Letter]:
    async with _Broker(url) as client:
        found = []
        for producer in producers:
            entries: Any = await client.xrange(dead_letter_key(producer))
            found += [_letter(producer, entry_id, fields) for entry_id, fields in entries]
        return found


async def _replay(url: str, producers: list[str], ids: list[str]) -> list[Letter]:
    async with _Broker(url) as client:
        done = []
        for producer in producers:
            dead = dead_letter_key(producer)
            entries: Any = await client.xrange(dead)
            for entry_id, fields in entries:
                letter = _letter(producer, entry_id, fields)
                if ids and letter.id not in ids:
                    continue
                if b"event" not in fields:  # nothing to replay: an entry without an event
                    continue
                # Appended before the letter is deleted: a crash in between replays twice
                # (consumers dedupe by event id), never loses the event.
                await client.xadd(letter.stream, {"event": fields[b"event"]})
                await client.xdel(dead, entry_id)
                done.append(letter)
        if missing := sorted(set(ids) - {letter.id for letter in done}):
            raise UsageError(
                f"no dead letter with an event to replay: {', '.join(missing)}",
                "`mosaic admin dead-letters list` shows the ids.",
            )
        return done


class _Broker:
    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)

    async def __aenter__(self) -> aioredis.Redis:
        try:
            await self.client.ping()
        except (redis.exceptions.RedisError, OSError) as error:
            await self.client.aclose()
            raise MosaicError(f"cannot reach the broker: {error}") from None
        return self.client

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()


def _letter(producer: str, entry_id: bytes, fields: dict[bytes, bytes]) -> Letter:
    def text(name: str) -> str:
        return fields.get(name.encode(), b"").decode(errors="replace")

    event: dict[str, Any] = {}
    try:
        parsed = json.loads(fields.get(b"event", b""))
        event = parsed if isinstance(parsed, dict) else {}
    except ValueError:
        pass
    version = event.get("version")
    return Letter(
        id=entry_id.decode(),
        dead_letters=dead_letter_key(producer),
        stream=text("stream") or stream_key(producer),
        group=text("group"),
        reason=text("reason"),
        deliveries=int(text("deliveries") or 0),
        dead_at=text("dead_at"),
        event_id=str(event["id"]) if "id" in event else None,
        event_type=str(event["type"]) if "type" in event else None,
        event_version=version if isinstance(version, int) else None,
    )


def as_json(letter: Letter) -> dict[str, Any]:
    return asdict(letter)


def outbox_rows(home: Path, service: Service, retry: str | None = None) -> list[dict[str, Any]]:
    """The outbox rows the service's relay set aside (after retrying `retry`: an event id,
    or "all"), from its own job with the environment the runner gives its jobs."""
    command = service.outbox
    if command is None:
        return []
    env = load_job_env(home, service.name) if runner_pid(home) is not None else None
    if env is None:
        raise MosaicError(
            f"{service.name} is not running on {home}",
            "Start it with `./mosaic up`, then try again.",
        )
    options = " --json" + (f" --retry {shlex.quote(retry)}" if retry else "")
    argv = shell_argv(command + options)
    result = subprocess.run(
        argv,
        cwd=service.folder,
        env={**env, "MOSAIC_PROCESS": "outbox"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    listed = [line for line in result.stdout.splitlines() if line.startswith("[")]
    if result.returncode != 0 or not listed:
        raise MosaicError(
            f"{service.name}'s outbox job failed (exit code {result.returncode})",
            output=(result.stdout + result.stderr)[-2000:],
        )
    rows: list[dict[str, Any]] = json.loads(listed[-1])
    return [{"service": service.name, **row} for row in rows]
