"""free_port: below the kernel's ephemeral range, free, and never the same twice."""

import socket

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
