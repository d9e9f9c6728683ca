"""Password hashing with argon2id (argon2-cffi), off the event loop and in bounded numbers.

Hashing is deliberately slow and memory-hungry. It runs in worker threads (argon2-cffi
releases the GIL), at most `concurrency` at once per process, so a burst of sign-ins
queues instead of stalling every other request or exhausting memory.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from accounts.domain import normalize_password


class Passwords:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int
    ) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._slots = asyncio.Semaphore(concurrency)
        # Verified instead when no user has the address, so that an unknown address costs
        # as much time as a wrong password and the timing tells nothing.
        self._dummy = self.hasher.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, normalize_password(password))

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; with None, spends the same time and says no."""
        async with self._slots:
            matches = await asyncio.to_thread(
                self._verify, stored or self._dummy, normalize_password(password)
            )
        return matches and stored is not None

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when `stored` was made with other parameters than today's."""
        return self.hasher.check_needs_rehash(stored)
