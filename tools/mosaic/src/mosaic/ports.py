"""Free TCP ports on the loopback interface."""

import socket


def free_port() -> int:
    """A port that was free a moment ago.

    The kernel picks it; a process that loses the race to bind it fails at start and is
    started again with a new port by its caller.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
