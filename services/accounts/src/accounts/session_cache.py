"""Fast answers to "is this session still on?", from Valkey, with Postgres as the truth.

An active session is remembered for a short time (`ACCOUNTS_SESSION_CACHE_SECONDS`) under
`accounts:session:<id>`; revoking sessions deletes their entries right after Postgres has
revoked them. Should that delete fail (Valkey down), an entry outlives the revocation by
at most its short TTL, well within the lifetime of the access tokens other services accept
anyway. Valkey being down makes checks slower (Postgres every time), never wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from chassis import Cache, get_logger
from redis.exceptions import RedisError

from accounts.store import SessionRecord

_log = get_logger("accounts.session_cache")


class SessionCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int) -> None:
        self.cache = cache
        self.ttl_seconds = ttl_seconds

    def _key(self, session_id: str) -> str:
        return self.cache.key("session", session_id)

    async def get(self, session_id: str) -> SessionRecord | None:
        """The session if Valkey vouches that it is live; None: ask Postgres."""
        try:
            value = await self.cache.client.get(self._key(session_id))
        except RedisError as error:
            _log.warning("session cache unavailable on read", error=str(error))
            return None
        if value is None:
            return None
        user_id, _, expires = (value.decode() if isinstance(value, bytes) else value).partition(" ")
        return SessionRecord(session_id, user_id, datetime.fromtimestamp(float(expires), UTC))

    async def remember(self, session: SessionRecord) -> None:
        seconds_left = (session.expires_at - datetime.now(UTC)).total_seconds()
        if seconds_left < 1:
            return
        ttl = min(self.ttl_seconds, int(seconds_left))
        value = f"{session.user_id} {session.expires_at.timestamp()}"
        try:
            await self.cache.client.set(self._key(session.id), value, ex=ttl)
        except RedisError as error:
            _log.warning("session cache unavailable on fill", error=str(error))

    async def forget(self, session_ids: Iterable[str]) -> None:
        keys = [self._key(s) for s in session_ids]
        if not keys:
            return
        try:
            await self.cache.client.delete(*keys)
        except RedisError as error:
            _log.error(
                "revoked sessions may be vouched for until their cache entries expire",
                error=str(error),
                sessions=len(keys),
                ttl_seconds=self.ttl_seconds,
            )
