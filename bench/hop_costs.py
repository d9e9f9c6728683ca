"""In-process costs behind a secure hop, for bench/hop.py: handshakes and service tokens.

Each figure is CPU per operation (µs) in this one process, measured with the chassis's own
TLS contexts and token classes, so it says what the caches and connection reuse avoid.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from chassis.tls import client_context, server_context
from chassis.tokens import TokenSigner, TokenVerifier, TrustStore, load_signing_key

T = TypeVar("T")


def cpu_us_each(action: Callable[[T], object], items: Iterable[T]) -> float:
    """Mean CPU time (all threads of this process) of `action` over `items`, in µs."""
    count = 0
    started = time.process_time()
    for item in items:
        action(item)
        count += 1
    return (time.process_time() - started) / count * 1e6


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> None:
    """One TLS handshake over a socket pair: the server side in a thread, the client here."""
    left, right = socket.socketpair()
    with (
        server.wrap_socket(left, server_side=True, do_handshake_on_connect=False) as accepted,
        client.wrap_socket(
            right, server_hostname="127.0.0.1", do_handshake_on_connect=False
        ) as dialled,
    ):
        worker = threading.Thread(target=accepted.do_handshake)
        worker.start()
        dialled.do_handshake()
        worker.join()


def handshake_costs(
    cert: Path, key: Path, ca: Path, client_cert: Path, client_key: Path, count: int = 200
) -> dict[str, float]:
    """CPU of one full TLS 1.3 handshake, both ends together: server-only and mutual."""
    mutual = server_context(cert, key, ca)
    server_only = server_context(cert, key, ca)
    server_only.verify_mode = ssl.CERT_NONE  # asks for no client certificate
    client = client_context(client_cert, client_key, ca)
    return {
        "TLS handshake, server certificate only (both ends)": cpu_us_each(
            lambda _: handshake(server_only, client), range(count)
        ),
        "mTLS handshake (both ends)": cpu_us_each(
            lambda _: handshake(mutual, client), range(count)
        ),
    }


def token_costs(
    caller: str, callee: str, signing_key: Path, trust_dir: Path, count: int = 2000
) -> dict[str, float]:
    """The chassis's token signer and verifier, with and without their caches."""
    key = load_signing_key(signing_key)
    signer = TokenSigner(caller, key)
    audiences = [f"callee-{i}" for i in range(count)]  # a new audience: a new signature
    tokens = [TokenSigner(caller, key).token_for(callee) for _ in range(count)]  # distinct jti
    verifier = TokenVerifier(callee, TrustStore(trust_dir), cache_size=count * 2)
    return {
        "sign a token": cpu_us_each(signer.token_for, audiences),
        "sign, cached (reuse a fresh token)": cpu_us_each(signer.token_for, audiences[:1] * count),
        "verify a token (first time)": cpu_us_each(verifier.verify, tokens),
        "verify, cached (a token seen before)": cpu_us_each(verifier.verify, tokens),
    }
