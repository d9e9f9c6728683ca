"""How a `ServiceClient` reaches its callee: the seam between the client (headers, deadline,
retries, metrics, the trace's span) and the wire. `NetworkTransport` is aiohttp over the
process's shared pool; `chassis.client_inprocess` is the benchmark's in-process host's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDictProxy

from chassis.client_response import Response
from chassis.cloudrun import ID_TOKEN_HEADER, IdTokenUnavailable
from chassis.security import Credentials


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One attempt as it leaves the client: the transport adds only what is its own to add
    (Cloud Run's ID token)."""

    method: str
    path: str
    query: Mapping[str, str] | None
    headers: dict[str, str]
    body: bytes | None


class Transport(Protocol):
    async def exchange(self, outgoing: Outgoing, budget: float) -> Response:
        """One request and its answer within `budget` seconds (TimeoutError after it)."""
        ...

    def failure_reason(self, error: Exception) -> str | None:
        """Why `error` (raised by `exchange`) means the callee was not reached or dropped
        the call, in aiohttp's words (`ClientConnectorError`); None for any other error."""
        ...


# uvloop, after connections were reset, may refuse a new socket whose file descriptor an
# old, closing transport still holds ("File descriptor 32 is used by transport ..."): a
# RuntimeError from the connect, nothing sent, so a failure to reach the callee like any
# other. Faults on hops under load found it (tests/system/test_hop_faults_under_load.py).
UVLOOP_TRANSPORT = "transport"


class NetworkTransport:
    """Calls over the network through the process's shared aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        credentials: Credentials,
        connect_timeout: float,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.credentials = credentials
        self.connect_timeout = connect_timeout
        self._https = base_url.startswith("https://")

    async def exchange(self, outgoing: Outgoing, budget: float) -> Response:
        credentials, headers = self.credentials, outgoing.headers
        if credentials.id_tokens is not None:  # Cloud Run's IAM admits only these
            token = await credentials.id_tokens.token_for(self.base_url, self.session)
            headers[ID_TOKEN_HEADER] = f"Bearer {token}"
        tls = credentials.tls.client if self._https and credentials.tls else None
        async with self.session.request(
            outgoing.method,
            self.base_url + outgoing.path,
            params=outgoing.query,
            data=outgoing.body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=budget, connect=self.connect_timeout),
            ssl=tls if tls is not None else True,
        ) as raw:
            return Response(raw.status, _plain(raw.headers), await raw.read())

    def failure_reason(self, error: Exception) -> str | None:
        if isinstance(error, IdTokenUnavailable):
            return str(error)
        if isinstance(error, aiohttp.ClientError):
            return type(error).__name__
        if isinstance(error, RuntimeError) and UVLOOP_TRANSPORT in str(error):
            return f"connection failed ({error})"
        return None


def _plain(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def query_of(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A call's query parameters as strings, those that are None left out."""
    if not params:
        return None
    return {key: str(value) for key, value in params.items() if value is not None}
