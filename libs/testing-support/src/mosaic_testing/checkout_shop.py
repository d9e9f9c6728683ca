"""A running shop for tests that start a checkout's services of their own beside it: its
URL, and the environment the runner gave orders, the frontend and payments (so the test's
own processes share its databases, Valkey, certificates and keys)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mosaic.ports import free_port

from mosaic_testing.processes import UpProcess, process_environment


@dataclass
class CheckoutShop:
    up: UpProcess
    url: str
    orders_env: dict[str, str]
    frontend_env: dict[str, str]
    payments_env: dict[str, str]


@contextmanager
def checkout_shop(home: Path) -> Iterator[CheckoutShop]:
    """`mosaic up` on `home` and a free port, ready, with those three environments."""
    port = free_port()
    with UpProcess(home, port) as up:
        up.wait_ready(timeout=180)
        processes = up.processes()
        yield CheckoutShop(
            up,
            f"http://127.0.0.1:{port}",
            process_environment(processes["orders.web.1"]["pid"]),
            process_environment(processes["frontend.web.1"]["pid"]),
            process_environment(processes["payments.web.1"]["pid"]),
        )
