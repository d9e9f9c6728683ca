"""Free TCP ports on the loopback interface."""

import os
import random
import re
import socket
from pathlib import Path

# The kernel may hand the same free port out twice in a row once we close it; ports for one
# run are chosen before any process binds them, so remember which ones we gave out.
_given: set[int] = set()

EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 15000  # above the well-known and most registered services' ports
_random = random.SystemRandom()


def free_port() -> int:
    """A port that was free a moment ago and that this process has not handed out before.

    Chosen below the kernel's ephemeral range: a port the kernel picks for `bind(0)` comes
    from that range, which every outgoing connection's local port is also taken from, so a
    busy machine (a load test, two shops) took such a port for a connection between our
    choice and the service's bind (`address already in use`, seen twice in one run). A
    process that still loses the race fails at start and its supervisor starts it again.

    `MOSAIC_PORT_SLICE=I/N` (0 <= I < N) keeps the choice to the I-th of N equal slices of
    that range, so N runs that each remember their own ports never choose one another's:
    the test suite gives each of its parallel workers a slice (the root conftest.py). Two
    workers choosing from one range met once: a shop's worker lost its port, chosen free,
    to the other worker's process before it bound it, and failed on every restart.
    """
    low, high = _sliced(*_below_ephemeral(), os.environ.get("MOSAIC_PORT_SLICE", ""))
    for _ in range(200):
        port = _random.randint(low, high)
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    while True:  # the range is full: let the kernel pick
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _given:
            _given.add(port)
            return port


def _below_ephemeral() -> tuple[int, int]:
    try:
        first = int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768  # Linux's default start
    return (LOWEST, first - 1) if first - 1 > LOWEST + 1000 else (1024, 65535)


def _sliced(low: int, high: int, spec: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", spec.strip())
    if match is None:
        return low, high
    index, count = int(match[1]), int(match[2])
    if not 0 <= index < count or (high - low + 1) // count < 100:
        return low, high  # nonsense, or slices too small to be worth it: the whole range
    size = (high - low + 1) // count
    return low + index * size, low + (index + 1) * size - 1


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
