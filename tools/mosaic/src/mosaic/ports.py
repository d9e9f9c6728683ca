"""Free TCP ports on the loopback interface."""

import socket

# The kernel may hand the same free port out twice in a row once we close it; ports for one
# run are chosen before any process binds them, so remember which ones we gave out.
_given: set[int] = set()


def free_port() -> int:
    """A port that was free a moment ago and that this process has not handed out before.

    The kernel picks it; a process that loses the race to bind it fails at start and its
    supervisor starts it again.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _given:
            _given.add(port)
            return port
