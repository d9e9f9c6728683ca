"""Requests to one chosen replica of a service whose replicas share a port.

The replicas of a service listen on one port (SO_REUSEPORT) and the kernel picks the
listener of each new connection, so a test that must reach one of them (a build beside
another, during a rolling upgrade) cannot say which by address. It opens a connection,
sees which process accepted it (the process holding the other end of it, in /proc through
psutil), keeps it when that is the replica it wants and tries again otherwise, then sends
one request on it. Nothing in the services is changed for the test: they see a caller
like any other (over mTLS with the caller's certificate and service token for an internal
service, plain HTTP for the edge).
"""

import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from mosaic.pki import TOKEN_HEADER, Pki, client_ssl_context, load_signing_key, sign_token

ATTEMPTS = 200  # connections tried before giving up (each lands on one of N replicas)
ACCEPTED_WITHIN = 2.0  # seconds for a serving process to accept a connection


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class Replica:
    """Requests to the replica with process id `pid`, among `pids` (every replica of the
    service: the connection's owner is looked for among them), on `port`. `caller`: call
    as that service over mTLS (`home`'s certificates and signing keys), None for the edge."""

    def __init__(
        self,
        service: str,
        port: int,
        pid: int,
        pids: list[int],
        *,
        home: Path | None = None,
        caller: str | None = None,
    ) -> None:
        self.service, self.port, self.pid, self.pids = service, port, pid, pids
        self.caller = caller
        self.tls: ssl.SSLContext | None = None
        if caller is not None:
            assert home is not None, "an mTLS call needs the home's certificates"
            pki = Pki.of(home)
            files = pki.service(caller)
            self.tls = client_ssl_context(pki.ca_cert, files.cert, files.key)
            self.key = load_signing_key(files.signing_key)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        body: bytes | None = None
        if json_body is not None:
            body, sent["content-type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            from urllib.parse import urlencode

            body = urlencode(form).encode()
            sent["content-type"] = "application/x-www-form-urlencoded"
        if self.caller is not None:
            sent[TOKEN_HEADER] = sign_token(self.key, issuer=self.caller, audience=self.service)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.sock = self._pinned()
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            return Answer(answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()

    def _pinned(self) -> socket.socket:
        for _ in range(ATTEMPTS):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            if self._accepted_by(sock.getsockname()) == self.pid:
                if self.tls is None:
                    return sock
                # Every certificate names 127.0.0.1; asking for the service's name makes
                # TLS prove that this is that service.
                return self.tls.wrap_socket(sock, server_hostname=self.service)
            sock.close()
        raise AssertionError(f"no connection to {self.service} landed on process {self.pid}")

    def _accepted_by(self, here: tuple[str, int]) -> int | None:
        deadline = time.monotonic() + ACCEPTED_WITHIN
        while time.monotonic() < deadline:
            for pid in self.pids:
                try:
                    connections = psutil.Process(pid).net_connections(kind="tcp")
                except psutil.NoSuchProcess:
                    continue
                for c in connections:
                    if c.raddr and (c.raddr.ip, c.raddr.port) == here[:2]:
                        return pid
            time.sleep(0.01)
        return None
