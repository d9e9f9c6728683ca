"""The order of a rolling upgrade (mosaic.rollout) against a fake of the runner's replicas:
release first; each successor ready before its predecessor goes; never fewer ready replicas
of a type than before; a successor that fails stops it with the old ones serving."""

import dataclasses
from collections import Counter

import pytest
from mosaic.builds import WORKTREE
from mosaic.errors import MosaicError
from mosaic.rollout import Builds, Replica, roll, rollback_target

NEW = "a" * 40


@dataclasses.dataclass
class FakeReplicas:
    running: list[Replica]
    fail_start_of: int | None = None  # the nth start fails
    events: list[str] = dataclasses.field(default_factory=list)
    released: bool = False
    recorded: str | None = None
    least_ready: dict[str, int] = dataclasses.field(default_factory=dict)
    starts: int = 0

    def __post_init__(self) -> None:
        self.least_ready = dict(Counter(r.kind for r in self.running))

    async def replicas(self, service: str) -> list[Replica]:
        return list(self.running)

    async def builds(self, service: str) -> Builds:
        return Builds(WORKTREE)

    async def release(self, service: str, build: str) -> None:
        self.events.append(f"release {build[:4]}")
        self.released = True

    async def start(self, service: str, kind: str, build: str) -> Replica:
        assert self.released, "a replica of the new build started before its release"
        self.starts += 1
        if self.starts == self.fail_start_of:
            self.events.append(f"start {kind} failed")
            raise MosaicError("never ready")
        new = Replica(f"{service}.{kind}.{10 + self.starts}", kind, build)
        self.running.append(new)
        self.events.append(f"start {new.name}")
        return new

    async def retire(self, name: str) -> None:
        self.running = [r for r in self.running if r.name != name]
        self.events.append(f"retire {name}")
        for kind, count in Counter(r.kind for r in self.running).items():
            self.least_ready[kind] = min(self.least_ready.get(kind, count), count)

    async def record(self, service: str, build: str) -> None:
        self.events.append("record")
        self.recorded = build


def orders_replicas() -> list[Replica]:
    return [
        Replica("orders.web.1", "web", WORKTREE),
        Replica("orders.web.2", "web", WORKTREE),
        Replica("orders.relay.1", "relay", WORKTREE),
    ]


async def test_release_first_then_one_replica_at_a_time_successor_first() -> None:
    fake = FakeReplicas(orders_replicas())
    notes: list[str] = []

    assert await roll(fake, "orders", NEW, notes.append) == 3

    assert fake.events == [
        "release aaaa",
        "start orders.web.11",
        "retire orders.web.1",
        "start orders.web.12",
        "retire orders.web.2",
        "start orders.relay.13",
        "retire orders.relay.1",
        "record",
    ]
    assert {r.build for r in fake.running} == {NEW}
    assert fake.least_ready == {"web": 2, "relay": 1}  # never fewer than before
    assert fake.recorded == NEW
    assert any("replacing replica 2/3: orders.web.2" in n for n in notes), notes


async def test_a_successor_that_fails_stops_the_upgrade_with_the_old_replicas_serving() -> None:
    fake = FakeReplicas(orders_replicas(), fail_start_of=2)

    with pytest.raises(MosaicError, match="never ready"):
        await roll(fake, "orders", NEW, lambda _: None)

    assert fake.events[-1] == "start web failed"
    assert [r.name for r in fake.running] == ["orders.web.2", "orders.relay.1", "orders.web.11"]
    assert fake.recorded is None  # the service does not run the new build: not recorded


async def test_a_second_run_replaces_only_what_is_left() -> None:
    running = [Replica("catalog.web.3", "web", NEW), Replica("catalog.web.2", "web", WORKTREE)]
    fake = FakeReplicas(running)

    assert await roll(fake, "catalog", NEW, lambda _: None) == 1
    assert fake.events == ["release aaaa", "start catalog.web.11", "retire catalog.web.2", "record"]


async def test_nothing_to_replace_runs_no_release() -> None:
    fake = FakeReplicas([Replica("catalog.web.1", "web", NEW)])
    assert await roll(fake, "catalog", NEW, lambda _: None) == 0
    assert fake.events == ["record"]


def test_rollback_goes_to_the_build_before() -> None:
    running = [Replica("catalog.web.3", "web", NEW)]
    assert rollback_target("catalog", Builds(NEW, WORKTREE), running) == WORKTREE


def test_rollback_after_a_half_done_upgrade_goes_back_to_what_all_ran() -> None:
    running = [Replica("catalog.web.2", "web", WORKTREE), Replica("catalog.web.3", "web", NEW)]
    assert rollback_target("catalog", Builds(WORKTREE), running) == WORKTREE


def test_rollback_without_an_earlier_build_is_refused() -> None:
    with pytest.raises(MosaicError, match="nothing to roll back to") as refused:
        rollback_target("catalog", Builds(WORKTREE), [Replica("catalog.web.1", "web", WORKTREE)])
    assert "mosaic upgrade catalog --to REF" in refused.value.hint
