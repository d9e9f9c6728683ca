"""Catalog reads while its Postgres is unreachable: what Valkey holds is still served, and
what it does not hold is a clear 503 (never a 500), against a catalog process of the
test's own whose database connection goes through a TCP relay the test can cut (the
runner's catalog and the shared Postgres stay up for the rest of the shop).
"""

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from mosaic.ports import free_port
from mosaic_testing import ServiceProcess, UpProcess, process_environment
from mosaic_testing.calls import service_client

pytestmark = pytest.mark.system


class Relay(socketserver.ThreadingTCPServer):
    """Bytes both ways between a client and `target`; `cut()` drops every connection and
    refuses new ones, as a Postgres that went away would."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut_off = threading.Event()
        self.live: set[socket.socket] = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _Pipe)

    def cut(self) -> None:
        self.cut_off.set()
        with self.lock:
            for sock in self.live:
                sock.close()


class _Pipe(socketserver.BaseRequestHandler):
    server: Relay

    def handle(self) -> None:
        if self.server.cut_off.is_set():
            return  # accepted and closed at once
        upstream = socket.create_connection(self.server.target, timeout=10)
        with self.server.lock:
            self.server.live.update({self.request, upstream})
        copier = threading.Thread(target=_copy, args=(upstream, self.request), daemon=True)
        copier.start()
        _copy(self.request, upstream)
        copier.join(5)


def _copy(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):  # either side closed: the copy ends
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, dict[str, str]]]:
    home = tmp_path_factory.mktemp("catalog-degraded") / "home"
    with UpProcess(home, free_port()) as up:
        up.wait_ready(timeout=180)
        yield up, process_environment(up.processes()["catalog.web.1"]["pid"])


def through(url: str, relay: Relay) -> str:
    parts = urlsplit(url)
    credentials, at, _ = parts.netloc.rpartition("@")
    netloc = f"{credentials}{at}127.0.0.1:{relay.server_address[1]}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.timeout(300)
def test_catalog_serves_cached_reads_while_its_postgres_is_down(
    shop: tuple[UpProcess, dict[str, str]], tmp_path: Path
) -> None:
    up, env = shop
    database = urlsplit(env["DATABASE_URL"])
    relay = Relay((database.hostname or "127.0.0.1", database.port or 5432))
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    catalog = ServiceProcess(
        "catalog",
        {**env, "DATABASE_URL": through(env["DATABASE_URL"], relay), "MOSAIC_REPLICA": "cut"},
        tmp_path / "catalog.log",
    )
    try:
        home = Path(up.env["MOSAIC_HOME"])
        with service_client(home, "catalog", catalog.port, caller="frontend") as http:
            listed = http.get("/v1/products", params={"page_size": 3})
            assert listed.status_code == 200, listed.text
            first, second = (p["id"] for p in listed.json()["items"][:2])
            warm = http.get(f"/v1/products/{first}")
            assert warm.status_code == 200

            relay.cut()  # Postgres is gone for this catalog

            cached = http.get(f"/v1/products/{first}")
            assert cached.status_code == 200, cached.text
            assert cached.json() == warm.json()  # from the cache, as it was
            assert http.get("/v1/products", params={"page_size": 3}).json() == listed.json()

            missed = http.get(f"/v1/products/{second}")  # never read: not in the cache
            assert missed.status_code == 503, missed.text
            assert missed.headers["content-type"] == "application/problem+json"
            assert missed.json()["type"].endswith("/database-unavailable")
            assert "retry-after" in missed.headers
    finally:
        catalog.stop()
        relay.shutdown()
        relay.server_close()
