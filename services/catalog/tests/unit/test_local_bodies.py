"""The process's own copies of cached bodies: by generation, bounded, for the TTL only."""

from __future__ import annotations

import time

import pytest
from catalog.cache import LocalBodies


def test_a_body_is_held_under_its_generation_only() -> None:
    local = LocalBodies()
    local.put("gen-1", "product:brass-compass", b"{}", ttl_seconds=60)
    assert local.get("gen-1", "product:brass-compass") == b"{}"
    assert local.get("gen-2", "product:brass-compass") is None  # a write made gen-2
    assert local.get("gen-1", "product:other") is None


def test_the_least_recently_read_goes_first() -> None:
    local = LocalBodies(size=2)
    local.put("g", "a", b"A", ttl_seconds=60)
    local.put("g", "b", b"B", ttl_seconds=60)
    assert local.get("g", "a") == b"A"  # now b is the least recently used
    local.put("g", "c", b"C", ttl_seconds=60)
    assert (local.get("g", "a"), local.get("g", "b"), local.get("g", "c")) == (b"A", None, b"C")


def test_a_body_is_not_held_beyond_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalBodies()
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    local.put("g", "categories", b"[]", ttl_seconds=30)
    monkeypatch.setattr(time, "monotonic", lambda: now + 31)
    assert local.get("g", "categories") is None
