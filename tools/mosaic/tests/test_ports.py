"""free_port: below the kernel's ephemeral range, free, and never the same twice."""

import socket

import pytest
from mosaic import ports


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    low, high = ports._below_ephemeral()
    given = [ports.free_port() for _ in range(50)]
    assert len(set(given)) == len(given)
    for port in given:
        assert low <= port <= high
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # free: binding works


def test_the_range_ends_where_outgoing_connections_begin() -> None:
    first = int(ports.EPHEMERAL.read_text().split()[0])
    low, high = ports._below_ephemeral()
    assert high == first - 1 and low == ports.LOWEST


def test_a_taken_port_is_not_given() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        assert not ports._bindable(taken)


def test_slices_split_the_range_into_disjoint_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    low, high = ports._below_ephemeral()
    first, second = ports._sliced(low, high, "0/2"), ports._sliced(low, high, "1/2")
    assert first[0] == low and first[1] < second[0] and second[1] <= high
    monkeypatch.setenv("MOSAIC_PORT_SLICE", "1/2")
    assert all(second[0] <= ports.free_port() <= second[1] for _ in range(50))


def test_a_slice_that_makes_no_sense_keeps_the_whole_range() -> None:
    for spec in ("", "2/2", "x", "1/0", "0/100000"):
        assert ports._sliced(15000, 32767, spec) == (15000, 32767)
