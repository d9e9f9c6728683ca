"""The request limits of a real service process (uvicorn on its API port): the head's
target, header bytes and header count refused by the server itself (414, 431) before the
app holds them; a body over MAX_BODY_BYTES, sent in chunks without a length, refused 413."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Sequence

import pytest

from .test_server import Process


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One process for the module: each refusal ends its own connection only."""
    folder = tmp_path_factory.mktemp("limits")
    process = Process(folder)
    (folder / "gate").touch()
    process.wait_for("/readyz", 200)
    yield process
    process.proc.kill()
    process.proc.communicate(timeout=10)


def exchange(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send a raw request; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _answer_length(received):
            chunk = sock.recv(65536)
            assert chunk, f"the server closed before answering in full: {received!r}"
            received += chunk
    head_part, _, rest = received.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, rest


def _answer_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(": ")
        if name.lower() == "content-length":
            return len(head) + 4 + int(value)
    return len(head) + 4


def request_head(target: str = "/v1/peer", headers: Sequence[tuple[str, str]] = ()) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_plain_request_is_served(served: Process) -> None:
    status, _, _ = exchange(served.port, request_head())
    assert status == 200


def test_header_fields_over_the_byte_limit_are_refused_with_431(served: Process) -> None:
    status, headers, body = exchange(served.port, request_head(headers=[("x-big", "a" * 20_000)]))
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"].endswith("/headers-too-large")
    assert problem["detail"] == "The request's header fields are over 16384 bytes."


def test_too_many_header_fields_are_refused_with_431(served: Process) -> None:
    many = [(f"x-field-{n}", "1") for n in range(150)]
    status, _, body = exchange(served.port, request_head(headers=many))
    assert status == 431
    assert json.loads(body)["type"].endswith("/too-many-headers")


def test_a_megabyte_of_headers_is_refused_without_being_held(served: Process) -> None:
    """The refusal comes as soon as the bound is passed: the rest is never read."""
    huge = [(f"x-field-{n}", "b" * 8000) for n in range(128)]
    status, _, _ = exchange(served.port, request_head(headers=huge))
    assert status == 431
    assert served.ops("/readyz").status_code == 200  # and the process is fine


def test_a_target_over_the_limit_is_refused_with_414(served: Process) -> None:
    status, _, body = exchange(served.port, request_head(target="/v1/peer?q=" + "a" * 9000))
    assert status == 414
    assert json.loads(body)["type"].endswith("/uri-too-long")


def test_a_chunked_body_over_the_limit_is_refused_with_413(served: Process) -> None:
    head = (
        b"POST /v1/notes HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b'{"a": "' + b"x" * 70_000 + b'"}'
    body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    status, headers, answer = exchange(served.port, head, body)
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(answer)["type"].endswith("/body-too-large")
