"""Password hashing: argon2id, normalized input, rehash when the parameters change."""

from __future__ import annotations

from typing import Literal

from accounts.hashing import Passwords
from argon2 import PasswordHasher


def passwords(time_cost: int = 1, memory_kib: int = 64) -> Passwords:
    return Passwords(time_cost=time_cost, memory_kib=memory_kib, parallelism=1, concurrency=2)


async def test_a_hash_verifies_its_password_only() -> None:
    hashing = passwords()
    stored = await hashing.hash("plum-kettle-orbit-42")
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert await hashing.verify(stored, "plum-kettle-orbit-42")
    assert not await hashing.verify(stored, "plum-kettle-orbit-43")


async def test_every_hash_is_salted() -> None:
    hashing = passwords()
    assert await hashing.hash("plum-kettle-orbit-42") != await hashing.hash("plum-kettle-orbit-42")


async def test_the_same_password_typed_differently_is_the_same() -> None:
    hashing = passwords()
    stored = await hashing.hash("\ufb01sh-kettle-orbit")  # the "ﬁ" ligature
    assert await hashing.verify(stored, "fish-kettle-orbit")


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(str(hash))
        return super().verify(hash, password)


async def test_no_user_still_costs_a_verification_and_never_matches() -> None:
    hashing = passwords()
    hashing.hasher = counting = CountingHasher()
    assert not await hashing.verify(None, "anything at all")
    assert len(counting.verified) == 1
    assert counting.verified[0].startswith("$argon2id$v=19$m=64,t=1,p=1$")  # a real one's cost


async def test_a_broken_hash_never_matches() -> None:
    assert not await passwords().verify("$argon2id$garbage", "plum-kettle-orbit-42")


async def test_hashes_with_older_parameters_need_a_rehash() -> None:
    old = await passwords(time_cost=1).hash("plum-kettle-orbit-42")
    stronger = passwords(time_cost=2)
    assert stronger.needs_rehash(old)
    assert await stronger.verify(old, "plum-kettle-orbit-42")  # still signs in meanwhile
    assert not stronger.needs_rehash(await stronger.hash("plum-kettle-orbit-42"))


def test_production_defaults_are_strong() -> None:
    from accounts.settings import AccountsSettings

    fields = AccountsSettings.model_fields
    assert fields["argon2_memory_kib"].default >= 19_456  # OWASP's floor for argon2id
    assert fields["argon2_time_cost"].default >= 2
