"""`mosaic admin call`: call a service of the running `mosaic up` by hand, as a service does:
over mTLS with the caller's certificate, with a service token signed by the caller's key."""

import asyncio
import json
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.markup import escape

from mosaic.admin.policy import service_routes
from mosaic.errors import MosaicError, UsageError
from mosaic.pki import (
    TOKEN_HEADER,
    Pki,
    ServiceFiles,
    client_ssl_context,
    load_signing_key,
    sign_token,
    spiffe_id,
)
from mosaic.plan import callee_scheme
from mosaic.services import OPERATOR, Service
from mosaic.state import read_state, runner_pid, served_by

MESH_IDENTITY_HEADER = "x-forwarded-client-cert"

TIMEOUT = 10.0  # seconds


@dataclass(frozen=True)
class Request:
    service: Service
    path: str
    method: str = "GET"
    data: str | None = None
    caller: str | None = None  # None: the first caller the route's allowlist names


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    content_type: str
    body: bytes
    verified_as: str | None  # the server's name its certificate proved (mTLS only)


def call(home: Path, services: list[Service], request: Request, verbose: bool) -> int:
    """Send the request, print the answer; the exit code: 0 below 400, else 1."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    body = _json_body(request.data)
    state = read_state(home) if runner_pid(home) is not None else None
    if state is None:
        raise MosaicError(
            f"Mosaic is not running on {home}", "Start it with `./mosaic up`, then call again."
        )
    service = request.service
    port = _port_of(state, service.name)
    transport = str(state.get("transport", "mtls"))
    scheme = "http" if service.edge else callee_scheme(transport)
    url = f"{scheme}://127.0.0.1:{port}{request.path}"
    headers = {"x-request-id": uuid.uuid4().hex, "accept": "application/json"}
    if body is not None:
        headers["content-type"] = "application/json"
        if request.method == "POST":
            headers["idempotency-key"] = uuid.uuid4().hex
    context = None
    if service.edge:
        err.print(f"{service.name} is the edge: calling it as a browser does", markup=False)
    else:
        caller = request.caller or _allowed_caller(request, err)
        pki = Pki.of(home)
        files = _caller_files(pki, caller, {s.name for s in services})
        key = load_signing_key(files.signing_key)
        headers[TOKEN_HEADER] = sign_token(key, issuer=caller, audience=service.name)
        if scheme == "https":
            context = client_ssl_context(pki.ca_cert, files.cert, files.key)
        else:  # behind a mesh: what its sidecar would say about our certificate
            headers[MESH_IDENTITY_HEADER] = f'URI="{spiffe_id(caller)}"'
    err.print(f"{request.method} {url}", style="bold", markup=False)
    reply = asyncio.run(_send(request.method, url, headers, body, context, service.name))
    _print_reply(reply, verbose, err)
    return 0 if reply.status < 400 else 1


def _allowed_caller(request: Request, err: Console) -> str:
    service = request.service
    if not service.api:
        raise UsageError(
            f"{service.name} names no routers (tool.mosaic.api), so its allowlists are unknown",
            "Say who calls: --as SERVICE (or --as admin, the operator).",
        )
    path = request.path.split("?", 1)[0]
    route = next((r for r in service_routes(service) if r.matches(request.method, path)), None)
    if route is None:
        raise UsageError(
            f"no route of {service.name} matches {request.method} {path}",
            "`mosaic admin policy` lists its routes; or send it anyway with --as SERVICE.",
        )
    if not route.callers:
        raise UsageError(
            f"no caller may call {route.method} {route.path} of {service.name}: its allowlist "
            "is empty",
            "To watch it refuse, send it anyway with --as SERVICE.",
        )
    err.print(
        f"calling as {route.callers[0]}, allowed by {route.method} {route.path}", markup=False
    )
    return route.callers[0]


def _caller_files(pki: Pki, caller: str, services: set[str]) -> ServiceFiles:
    known = services | {OPERATOR}
    if caller not in known:
        raise UsageError(
            f"--as {caller}: no such identity",
            f"Call as one of: {', '.join(sorted(known))}.",
        )
    files = pki.service(caller)
    if not all(p.is_file() for p in (files.cert, files.key, files.signing_key, pki.ca_cert)):
        raise MosaicError(
            f"no certificate or signing key for {caller} under {pki.root}",
            "Restart `mosaic up`: it issues whatever is missing.",
        )
    return files


def _port_of(state: dict[str, Any], service: str) -> int:
    for entry in served_by(state):
        if entry.get("service") == service:
            port = entry.get("port")
            if isinstance(port, int):
                return port
    raise MosaicError(
        f"{service} is not running in this `mosaic up`", "`mosaic status` shows what runs."
    )


def _json_body(data: str | None) -> bytes | None:
    if data is None:
        return None
    try:
        return json.dumps(json.loads(data)).encode()
    except ValueError as error:
        raise UsageError(
            f"--data is not valid JSON: {error}", """For example: --data '{"name": "Mug"}'"""
        ) from None


async def _send(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    context: ssl.SSLContext | None,
    service: str,
) -> Reply:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    # Every certificate names 127.0.0.1; asking for the service's own name (its DNS SAN)
    # makes TLS prove that the server on this port is that service.
    server_hostname = service if context is not None else None
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(
                method,
                url,
                headers=headers,
                data=body,
                ssl=context or True,
                server_hostname=server_hostname,
            ) as response,
        ):
            return Reply(
                response.status,
                response.reason or "",
                list(response.headers.items()),
                response.content_type,
                await response.read(),
                server_hostname,
            )
    except aiohttp.ClientConnectorCertificateError as error:
        raise MosaicError(
            f"the server on {url} did not prove to be {service}: {error.certificate_error}",
            "Is $MOSAIC_HOME the home of the running `mosaic up`, and the port its service's?",
        ) from None
    except aiohttp.ClientSSLError as error:
        raise MosaicError(f"TLS with {url} failed: {error}") from None
    except aiohttp.ServerDisconnectedError:
        raise MosaicError(
            f"{url} closed the connection without answering",
            "A service that requires mTLS does that to a client it does not accept; "
            "`mosaic status` shows whether the service is ready.",
        ) from None
    except (aiohttp.ClientError, OSError) as error:
        raise MosaicError(
            f"cannot reach {url}: {error}", "`mosaic status` shows whether the service is ready."
        ) from None
    except TimeoutError:
        raise MosaicError(f"{url} did not answer within {TIMEOUT:g} s") from None


def _print_reply(reply: Reply, verbose: bool, err: Console) -> None:
    style = "green" if reply.status < 300 else "yellow" if reply.status < 400 else "red"
    err.print(f"{reply.status} {escape(reply.reason)}", style=f"bold {style}")
    if verbose:
        if reply.verified_as:
            err.print(f"TLS 1.3: the server proved to be {reply.verified_as}", markup=False)
        for name, value in reply.headers:
            err.print(f"{name}: {value}", style="dim", markup=False)
    if not reply.body:
        return
    if reply.content_type.endswith("json"):
        try:
            print(json.dumps(json.loads(reply.body), indent=2, ensure_ascii=False))
            return
        except ValueError:
            pass
    try:
        print(reply.body.decode())
    except UnicodeDecodeError:
        err.print(f"({len(reply.body)} bytes of {reply.content_type})", markup=False)
