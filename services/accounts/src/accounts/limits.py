"""Brute-force limits: sliding windows in Valkey, shared by every replica.

Each limit is a sorted set of attempt times (a sliding-window log). One Lua script checks
every limit an attempt falls under and, only if all have room, records the attempt in all
of them: atomic, so concurrent guesses cannot slip past the count, and exact at the window
edges, unlike fixed windows that allow twice the limit around a boundary. A set never
holds more than its limit, so memory is bounded whatever an attacker sends.

Only failures should count: a caller records the attempt first (the check and the count
must be one step) and takes it back with `forgive` when the attempt succeeded.

Times come from the Valkey server (`TIME`), so replicas with skewed clocks agree.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass

from chassis import Cache, get_logger
from redis.exceptions import RedisError

from accounts.domain import TooManyAttempts

_log = get_logger("accounts.limits")

# KEYS: one sorted set per limit. ARGV: the attempt's id, then limit and window (ms) per key.
# Returns 0 when the attempt was recorded, else the ms until the fullest limit has room.
_ATTEMPT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `attempts` in any `window_seconds`, per subject (an account, an address)."""

    name: str
    attempts: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Attempt:
    keys: tuple[str, ...]
    id: str


class LimiterUnavailable(Exception):
    """Valkey did not answer: the limits cannot be enforced, so the attempt is refused."""


class Limiter:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def key(self, limit: Limit, subject: str) -> str:
        # Hashed: no email address sits in Valkey in clear, and every key has one length.
        digest = hashlib.blake2b(subject.encode(), digest_size=16).hexdigest()
        return self.cache.key("limits", limit.name, digest)

    async def attempt(self, *checks: tuple[Limit, str]) -> Attempt:
        """Record one attempt under every (limit, subject), or raise `TooManyAttempts`."""
        keys = tuple(self.key(limit, subject) for limit, subject in checks)
        attempt_id = uuid.uuid4().hex
        args: list[str | int] = [attempt_id]
        for limit, _ in checks:
            args += [limit.attempts, limit.window_seconds * 1000]
        try:
            wait_ms = await self.cache.client.eval(_ATTEMPT, len(keys), *keys, *args)
        except RedisError as error:
            raise LimiterUnavailable(str(error)) from error
        if int(wait_ms) > 0:
            raise TooManyAttempts(retry_after=max(1, math.ceil(int(wait_ms) / 1000)))
        return Attempt(keys, attempt_id)

    async def forgive(self, attempt: Attempt) -> None:
        """Take back an attempt that succeeded; a failure to do so only costs the user room."""
        try:
            async with self.cache.client.pipeline(transaction=True) as pipe:
                for key in attempt.keys:
                    pipe.zrem(key, attempt.id)
                await pipe.execute()
        except RedisError as error:
            _log.warning("a successful attempt still counts against its limits", error=str(error))
